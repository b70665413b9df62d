#include "wheels/elfinfo.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

bool elf_is_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned char magic[SELFMAG];
	bool yes = read(fd, magic, SELFMAG) == SELFMAG && !memcmp(magic, ELFMAG, SELFMAG);
	close(fd);
	return yes;
}

void elf_info_release(struct elf_info *e)
{
	for (size_t i = 0; i < e->nneeded; i++)
		free(e->needed[i]);
	free(e->needed);
	memset(e, 0, sizeof(*e));
}

bool elf_needs(const struct elf_info *e, const char *lib)
{
	for (size_t i = 0; i < e->nneeded; i++)
		if (!strcmp(e->needed[i], lib))
			return true;
	return false;
}

/* A NUL-terminated string at `off` of a string table inside the image, or NULL. */
static const char *table_string(const unsigned char *img, size_t size, const Elf64_Shdr *tab,
				uint64_t off)
{
	if (tab->sh_offset > size || tab->sh_size > size - tab->sh_offset || off >= tab->sh_size)
		return NULL;
	const char *s = (const char *)img + tab->sh_offset + off;
	return memchr(s, '\0', tab->sh_size - off) ? s : NULL;
}

static bool section_ok(const Elf64_Shdr *sh, size_t size, size_t entsize)
{
	return sh->sh_offset <= size && sh->sh_size <= size - sh->sh_offset &&
	       sh->sh_size % entsize == 0;
}

static void scan(const unsigned char *img, size_t size, struct elf_info *e)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (eh->e_shoff > size || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shnum > (size - eh->e_shoff) / sizeof(Elf64_Shdr))
		return;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	bool old_abi = false, new_abi = false;
	for (size_t i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strtab = &sh[sh[i].sh_link];
		if (sh[i].sh_type == SHT_DYNAMIC && section_ok(&sh[i], size, sizeof(Elf64_Dyn))) {
			const Elf64_Dyn *dyn = (const Elf64_Dyn *)(img + sh[i].sh_offset);
			size_t n = sh[i].sh_size / sizeof(Elf64_Dyn);
			for (size_t k = 0; k < n && dyn[k].d_tag != DT_NULL; k++) {
				if (dyn[k].d_tag != DT_NEEDED)
					continue;
				const char *name = table_string(img, size, strtab, dyn[k].d_un.d_val);
				if (!name)
					continue;
				e->needed = xrealloc(e->needed, (e->nneeded + 1) * sizeof(char *));
				e->needed[e->nneeded++] = xstrdup(name);
			}
		} else if (sh[i].sh_type == SHT_DYNSYM &&
			   section_ok(&sh[i], size, sizeof(Elf64_Sym))) {
			const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
			size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
			for (size_t k = 1; k < n; k++) {
				const char *name = table_string(img, size, strtab, sym[k].st_name);
				if (!name || strncmp(name, "_Z", 2))
					continue;
				if (strstr(name, "St7__cxx11"))
					new_abi = true;
				else if (strstr(name, "Ss") || strstr(name, "St12basic_stringIcSt11char_traitsIcESaIcEE"))
					old_abi = true;
			}
		}
	}
	e->abi = new_abi == old_abi ? CXX_ABI_UNKNOWN : new_abi ? CXX_ABI_CXX11 : CXX_ABI_OLD;
}

int elf_read(const char *path, struct elf_info *e, struct diags *d)
{
	memset(e, 0, sizeof(*e));
	e->abi = CXX_ABI_UNKNOWN;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int rc = diag_error(d, NULL, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	size_t size = (size_t)st.st_size;
	void *map = size >= sizeof(Elf64_Ehdr) ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)
					       : MAP_FAILED;
	close(fd);
	if (map == MAP_FAILED)
		return diag_error(d, NULL, "%s is not an ELF file (too short or unreadable)", path);
	const unsigned char *img = map;
	const Elf64_Ehdr *eh = map;
	int rc = 0;
	if (memcmp(img, ELFMAG, SELFMAG) || img[EI_CLASS] != ELFCLASS64 ||
	    img[EI_DATA] != ELFDATA2LSB) {
		rc = diag_error(d, NULL, "%s is not a 64-bit little-endian ELF file", path);
	} else {
		if (eh->e_machine == EM_X86_64)
			snprintf(e->machine, sizeof(e->machine), "x86_64");
		else if (eh->e_machine == EM_AARCH64)
			snprintf(e->machine, sizeof(e->machine), "aarch64");
		else
			snprintf(e->machine, sizeof(e->machine), "%u", (unsigned)eh->e_machine);
		scan(img, size, e);
	}
	munmap(map, size);
	return rc;
}
