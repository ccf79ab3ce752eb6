// Search: binds the Planner to the training engine. Placeholder until the first real source lands.
