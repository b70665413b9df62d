/* Loading one toolchain file into a struct toolchain (docs/files.md, "Toolchains"). */
#include "model/toolchain_load.h"

#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "model/image.h"
#include "model/load_common.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- toolchains ---------------------------------------------------------------------- */

static void load_accel(struct fields *tf, const char *key, bool *enabled, char **version,
		       char **home, char **arch_list, struct pos *arch_pos, struct pos *pos,
		       const char *dflt_home)
{
	const struct jnode *obj = fields_get(tf, key, JSON_OBJECT, false);
	if (!obj)
		return;
	struct buf what = BUF_INIT;
	buf_addf(&what, "\"%s\" of %s", key, tf->what);
	struct fields f;
	fields_init(&f, tf->doc, obj, what.data, tf->d);
	static const char *const keys[] = { "version", "home", "arch_list" };
	fields_known(&f, keys, ARRAY_SIZE(keys));
	*enabled = true;
	*pos = obj->pos;
	struct pos vp;
	*version = fields_string(&f, "version", true, &vp);
	if (*version && !version_valid(*version)) {
		diag_error(f.d, &vp, "\"version\" in %s is not a version: \"%s\"", what.data, *version);
		f.errors++;
	}
	*home = fields_string(&f, "home", false, NULL);
	if (!*home)
		*home = xstrdup(dflt_home);
	*arch_list = fields_string(&f, "arch_list", false, arch_pos);
	if (!*arch_list || !**arch_list) {
		diag_error(f.d, *arch_list ? arch_pos : &obj->pos, "%s has no \"arch_list\"", what.data);
		if (!strcmp(key, "cuda"))
			diag_hint(f.d, "a builder without a GPU cannot detect it: torch.utils.cpp_extension "
				       "fails with IndexError and PyTorch builds every arch; write e.g. "
				       "\"arch_list\": \"8.0;9.0;12.0+PTX\"");
		else
			diag_hint(f.d, "torch_musa's CMake stops without a GPU to detect; write e.g. "
				       "\"arch_list\": \"21;22\"");
		f.errors++;
	}
	tf->errors += f.errors;
	buf_release(&what);
}

static void load_nccl(struct fields *tf, struct toolchain *t, const char *what)
{
	const struct jnode *nccl = fields_get(tf, "nccl", JSON_OBJECT, false);
	if (!nccl)
		return;
	struct buf nw = BUF_INIT;
	buf_addf(&nw, "\"nccl\" of %s", what);
	struct fields nf;
	fields_init(&nf, tf->doc, nccl, nw.data, tf->d);
	static const char *const nkeys[] = { "system", "root" };
	fields_known(&nf, nkeys, ARRAY_SIZE(nkeys));
	t->nccl_system = fields_bool(&nf, "system", false);
	t->nccl_root = fields_string(&nf, "root", false, NULL);
	tf->errors += nf.errors;
	buf_release(&nw);
}

int toolchain_load(struct toolchain *t, const struct jdoc *doc, struct diags *d)
{
	memset(t, 0, sizeof(*t));
	const struct jnode *root = &doc->root;
	if (root->type != JSON_OBJECT) {
		diag_error(d, &root->pos, "a toolchain must be a JSON object, not %s",
			   jtype_name(root->type));
		return -1;
	}
	t->file = doc->path;
	struct fields f;
	fields_init(&f, doc, root, "this toolchain", d);
	t->name = fields_string(&f, "name", true, &t->pos);
	if (!t->name) {
		toolchain_release(t);
		return -1;
	}
	char *what = describe("toolchain", t->name);
	f.what = what;
	if (!valid_name(t->name, true)) {
		diag_error(d, &t->pos, "toolchain name \"%s\" is not valid", t->name);
		diag_hint(d, "use lowercase letters, digits, '_', '-' and '.', starting with a letter");
		f.errors++;
	}
	static const char *const keys[] = { "name", "tag", "cc", "cxx", "cuda", "musa", "nccl", "env",
					     "image" };
	fields_known(&f, keys, ARRAY_SIZE(keys));
	t->tag = fields_string(&f, "tag", true, NULL);
	t->cc = fields_string(&f, "cc", false, &t->cc_pos);
	t->cxx = fields_string(&f, "cxx", false, &t->cxx_pos);
	if (!t->cc) {
		t->cc = xstrdup("gcc");
		t->cc_pos = t->pos;
	}
	if (!t->cxx) {
		t->cxx = xstrdup("g++");
		t->cxx_pos = t->pos;
	}
	load_accel(&f, "cuda", &t->cuda.enabled, &t->cuda.version, &t->cuda.home, &t->cuda.arch_list,
		   &t->cuda.arch_pos, &t->cuda.pos, "/usr/local/cuda");
	struct pos unused;
	load_accel(&f, "musa", &t->musa.enabled, &t->musa.version, &t->musa.home, &t->musa.arch_list,
		   &unused, &t->musa.pos, "/usr/local/musa");
	if (t->cuda.enabled && t->musa.enabled) {
		diag_error(d, &t->musa.pos, "%s has both \"cuda\" and \"musa\"", what);
		diag_hint(d, "make one toolchain per accelerator");
		f.errors++;
	}
	load_nccl(&f, t, what);
	if (!t->nccl_root && t->cuda.enabled)
		t->nccl_root = xstrdup(t->cuda.home);
	fields_string_map(&f, "env", &t->env);
	/* "image" is not interpolated with the rest: ${python} there is the Python version. */
	t->image = fields_string(&f, "image", false, &t->image_pos);
	const char *why;
	if (t->image && docker_image_check(t->image, &why) < 0) {
		diag_error(d, &t->image_pos, "\"image\" of %s cannot be used: %s", what, why);
		diag_hint(d, "write an image reference such as \"python:${python}-slim-bookworm\"");
		f.errors++;
	}
	struct refs refs = { 0 };
	check_interp_members(&f, root, "env", true, &refs);
	t->refs = refs.v;
	t->nrefs = refs.n;
	free(what);
	return 0;
}
