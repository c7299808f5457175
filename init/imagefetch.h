/* imagefetch.c: an image made present in the engine (there already, a bundled archive loaded, or pulled). */
#ifndef OD_IMAGEFETCH_H
#define OD_IMAGEFETCH_H
/* fn(arg, 0, NULL) once ref is in the engine, or fn(arg, -errno, why) (why: the engine's or the
 * registry's words); never called from inside image_fetch(), but for out of memory. */
typedef void (*image_fn)(void *arg, int rc, const char *why);
void image_fetch(const char *ref, int pull_ms, image_fn fn, void *arg);     /* pull_ms: the pull's deadline */
#endif
