// Training: see DESIGN.md. This file is a placeholder until the module's first real source lands.
