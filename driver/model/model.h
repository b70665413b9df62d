/*
 * The files users write, as loaded: recipes, toolchains and build sets (docs/files.md).
 * Every string is owned by its struct; every `pos.file` points at a path owned by the
 * project that loaded it.
 */
#ifndef PTBUILD_MODEL_H
#define PTBUILD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"

/* How a project's build reads its environment; selects the rules that apply. */
enum builder {
	BUILDER_GENERIC,       /* no project-specific rules */
	BUILDER_PYTORCH,       /* PyTorch setup.py + CMake: USE_x and BUILD_x forwarded unchecked */
	BUILDER_TORCH_MUSA,    /* torch_musa setup.py + CMake: BUILD_/USE_/ENABLE_... forwarded */
	BUILDER_CPP_EXTENSION, /* torch.utils.cpp_extension setup.py; switches compared with "1" */
	BUILDER_PYG_LIB,       /* pyg-lib: cpp_extension + CMake; FORCE_CUDA parsed with int() */
	BUILDER_TORCHAUDIO,    /* torchaudio: 1/true/on/yes and their negatives */
	BUILDER_PYTHON,        /* pure Python package */
	BUILDER_WHEEL,         /* prebuilt wheel: nothing is built */
};

extern const char *const builder_names[]; /* indexed by enum builder */
#define BUILDER_COUNT 8
/* Returns 0 and sets *out, or -1 when `name` is not a builder. */
int builder_parse(const char *name, enum builder *out);

struct strpos {
	char *s; /* owned */
	struct pos pos;
};

struct strpos_list {
	struct strpos *v; /* owned */
	size_t n;
};

struct kv {
	char *key;   /* owned */
	char *value; /* owned */
	struct pos key_pos;
	struct pos pos; /* of the value */
};

struct kv_list {
	struct kv *v; /* owned */
	size_t n;
};

enum source_kind { SOURCE_GIT, SOURCE_ARCHIVE, SOURCE_PYPI, SOURCE_WHEEL, SOURCE_PATH };

/* Which submodules a git source checks out: "submodules" in a recipe's source. */
enum submodule_mode {
	SUBMODULES_RECURSIVE, /* every gitlink, recursively (the default) */
	SUBMODULES_NONE,      /* the superproject alone */
	SUBMODULES_ONLY,      /* the listed paths, what is below them, and their parents */
	SUBMODULES_EXCLUDE,   /* every gitlink but the listed paths and what is below them */
};

struct submodule_select {
	enum submodule_mode mode;
	struct strpos_list paths; /* ONLY and EXCLUDE: full paths from the top of the tree */
	struct pos pos;           /* of the "submodules" value, or none when defaulted */
};

/* Whether the submodule at full path `path` is checked out under `sel`. */
bool submodule_selected(const struct submodule_select *sel, const char *path);

struct source {
	enum source_kind kind;
	struct pos pos;
	char *location;   /* git URL, archive URL, PyPI requirement, wheel requirement or URL, path */
	char *ref;        /* git: tag, branch or commit */
	bool submodules;  /* git: check out any submodule at all (mode is not NONE) */
	struct submodule_select select; /* git: which ones */
	char *sha256;     /* archive and wheel URL: expected digest */
	int strip;        /* archive: leading path components to drop */
	char *index;      /* wheel by requirement: the index pip reads (--index-url), or NULL */
	struct pos index_pos;
	bool pre;         /* wheel by requirement: pip may choose pre-releases (--pre) */
};

/* A wheel source whose requirement names no exact version ({"wheel": "torch", "pre":
 * true}): the lock pins the version the index served, and `lock --update` moves it. */
bool source_floating(const struct source *s);

struct submodule_override {
	char *path; /* submodule path in the superproject */
	char *git;  /* replacement URL */
	char *ref;  /* replacement ref */
	struct pos pos;
};

struct patch_series {
	char *series;              /* glob, may start with ${src:NAME}; NULL when `files` is used */
	struct strpos_list files;  /* explicit list, applied in this order */
	struct strpos_list exclude;/* globs relative to the series directory */
	struct kv_list when;       /* "toolchain" / "python" / "env.X" -> required value */
	struct pos pos;
};

/* A `${src:NAME}` or `${dep.NAME.x}` reference, checked once every recipe is loaded. */
struct recipe_ref {
	char *recipe; /* owned */
	bool source_only; /* ${src:NAME}: needs NAME's source, not its build */
	struct pos pos;
};

struct recipe {
	char *name;
	struct pos pos;      /* of the name value */
	const char *file;    /* borrowed from the project */
	char *version;       /* informative; the source pins what is built */
	struct pos version_pos;
	char *provides;      /* another name this recipe can stand in for ("torch"), or NULL */
	enum builder builder;
	struct source source;
	struct strpos_list depends;
	struct strpos_list build_requires;
	struct strpos_list build;   /* argv; empty means the builder's default */
	struct submodule_override *overrides;
	size_t noverrides;
	struct patch_series *patches;
	size_t npatches;
	struct kv_list env;
	struct kv_list compat;      /* dependency name, "python" or "cuda" -> version specifier */
	char *local_version;
	struct pos local_version_pos;
	uint64_t mem_per_job;       /* bytes one compiler process of this build may use; 0: the
				       command line's --mem-per-job */
	struct recipe_ref *refs;    /* from every interpolated string */
	size_t nrefs;
};

struct cuda_config {
	bool enabled;
	char *version;    /* "13.0": what compat checks compare against */
	char *home;
	char *arch_list;  /* TORCH_CUDA_ARCH_LIST for every recipe of this toolchain */
	struct pos arch_pos;
	struct pos pos;
};

struct musa_config {
	bool enabled;
	char *version;
	char *home;
	char *arch_list;  /* TORCH_MUSA_ARCH_LIST */
	struct pos pos;
};

struct toolchain {
	char *name;
	struct pos pos;
	const char *file;
	char *tag;        /* short name in local versions: "cpu", "cu130" */
	char *cc, *cxx;
	struct pos cc_pos, cxx_pos; /* where each was written; the name's when left out */
	struct cuda_config cuda;
	struct musa_config musa;
	bool nccl_system;
	char *nccl_root;  /* where include/nccl.h is looked for */
	struct kv_list env;
	char *image;      /* base image of the wheelhouse's Dockerfiles, may hold ${python}; or
			     NULL (dockerfiles.h has the defaults). Not a build input. */
	struct pos image_pos;
	struct recipe_ref *refs;
	size_t nrefs;
};

struct set_exclude {
	char *target, *toolchain, *python; /* NULL matches anything */
	struct pos pos;
};

struct buildset {
	char *name;
	const char *file;
	struct strpos_list targets;
	struct strpos_list toolchains;
	struct strpos_list python;
	struct set_exclude *excludes;
	size_t nexcludes;
	struct kv_list use; /* dependency name -> recipe that provides it in this set */
};

/* Each frees what the struct owns and zeroes it: safe on a zeroed struct; idempotent. */
void recipe_release(struct recipe *r);
void toolchain_release(struct toolchain *t);
void buildset_release(struct buildset *s);
void strpos_list_release(struct strpos_list *l);
void kv_list_release(struct kv_list *l);
const struct kv *kv_list_find(const struct kv_list *l, const char *key);

const char *source_kind_name(enum source_kind kind);

#endif
