#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Reads a PNG file as 8-bit RGB through libpng's simplified API (its PNG_IMAGE_* macros do not import
   into Swift). On success returns 0 and a malloc'ed buffer of width*height*3 bytes (the caller frees
   it); on failure returns -1 with libpng's message in `message`. */
static inline int sibyl_png_read_rgb(const char *path, unsigned char **pixels, unsigned *width, unsigned *height,
                                     char *message, size_t message_length) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    *pixels = NULL;
    if (!png_image_begin_read_from_file(&image, path)) {
        snprintf(message, message_length, "%s", image.message);
        return -1;
    }
    image.format = PNG_FORMAT_RGB;
    unsigned char *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (buffer == NULL) {
        png_image_free(&image);
        snprintf(message, message_length, "out of memory");
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        snprintf(message, message_length, "%s", image.message);
        free(buffer);
        return -1;
    }
    *pixels = buffer;
    *width = image.width;
    *height = image.height;
    return 0;
}

static inline void sibyl_png_free(unsigned char *pixels) { free(pixels); }
