#include "model/image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define PYTHON_REF "${python}"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char *docker_default_image(const struct toolchain *tc, const char *python)
{
	struct buf b = BUF_INIT;
	if (tc->musa.enabled)
		return NULL; /* no public MUSA runtime image to name: the toolchain says which */
	if (tc->cuda.enabled && tc->cuda.version) {
		/* NVIDIA tags name the patch release: 13.0 -> 13.0.0 */
		size_t dots = 0;
		for (const char *p = tc->cuda.version; *p; p++)
			dots += *p == '.';
		buf_addf(&b, "nvidia/cuda:%s%s-runtime-ubuntu24.04", tc->cuda.version,
			 dots == 1 ? ".0" : "");
	} else {
		buf_addf(&b, "python:%s-slim-bookworm", python);
	}
	return buf_detach(&b);
}

int docker_image_check(const char *image, const char **why)
{
	if (!*image) {
		*why = "it is empty";
		return -1;
	}
	if (!is_alnum(image[0]) && image[0] != '$') {
		*why = "it must start with a letter or a digit";
		return -1;
	}
	for (const char *p = image; *p; p++) {
		if (*p == '$') {
			if (strncmp(p, PYTHON_REF, strlen(PYTHON_REF))) {
				*why = "${python} (the variant's Python version) is the only name it may use";
				return -1;
			}
			p += strlen(PYTHON_REF) - 1;
		} else if (!is_alnum(*p) && !strchr(DOCKER_IMAGE_CHARS, *p)) {
			*why = "it has a character other than letters, digits, '.', '_', ':', '/', '@', "
			       "'+', '-' and ${python}";
			return -1;
		}
	}
	return 0;
}

char *docker_image_for(const struct toolchain *tc, const char *python)
{
	if (!tc->image)
		return docker_default_image(tc, python);
	struct buf b = BUF_INIT;
	for (const char *p = tc->image; *p;) {
		if (!strncmp(p, PYTHON_REF, strlen(PYTHON_REF))) {
			buf_adds(&b, python);
			p += strlen(PYTHON_REF);
		} else {
			buf_addch(&b, *p++);
		}
	}
	return buf_detach(&b);
}
