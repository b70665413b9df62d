/*
 * The option tables behind envflags. Every fact carries a tag: [V] read in the upstream
 * source, [I] inferred, [U] unverified. Sources are listed in docs/flags.md.
 */
#include "model/envflags_catalog.h"

#include <string.h>

#include "util/strutil.h"

/*
 * USE_* / BUILD_* names PyTorch reads, over the releases ptbuild builds (1.12 to main).
 * setup.py forwards every USE_*, BUILD_* and CMAKE_* variable to CMake as -DVAR=value without
 * checking the name, so a misspelt one is silently ignored.
 */
static const char *const pytorch_options[] = {
	/* CMakeLists.txt option()/cmake_dependent_option(), at 0cbc3db (2.6) and 00117da (main) [V] */
	"BUILD_AOT_INDUCTOR_TEST", "BUILD_BINARY", "BUILD_BUNDLE_PTXAS", "BUILD_CUSTOM_PROTOBUF",
	"BUILD_EXECUTORCH", "BUILD_FUNCTORCH", "BUILD_JNI", "BUILD_LAZY_CUDA_LINALG",
	"BUILD_LAZY_TS_BACKEND", "BUILD_LIBTORCH_CPU_WITH_DEBUG", "BUILD_LITE_INTERPRETER",
	"BUILD_MOBILE_AUTOGRAD", "BUILD_MOBILE_BENCHMARK", "BUILD_MOBILE_TEST", "BUILD_PYTHON",
	"BUILD_SHARED_LIBS", "BUILD_STATIC_RUNTIME_BENCHMARK", "BUILD_TEST",
	"USE_ASAN", "USE_C10D_GLOO", "USE_C10D_MPI", "USE_C10D_NCCL", "USE_C10D_UCC",
	"USE_C10D_XCCL", "USE_CCACHE", "USE_COLORIZE_OUTPUT", "USE_COREML_DELEGATE",
	"USE_CPP_CODE_COVERAGE", "USE_CUDA", "USE_CUDNN", "USE_CUDSS", "USE_CUFILE", "USE_CUPTI_SO",
	"USE_CUSPARSELT", "USE_DISTRIBUTED", "USE_FAKELOWP", "USE_FBGEMM", "USE_FLASH_ATTENTION",
	"USE_GFLAGS", "USE_GLOG", "USE_GLOO", "USE_GLOO_IBVERBS", "USE_GLOO_WITH_OPENSSL",
	"USE_GOLD_LINKER", "USE_ITT", "USE_KINETO", "USE_KLEIDIAI", "USE_LIGHTWEIGHT_DISPATCH",
	"USE_LITE_AOTI", "USE_LITE_INTERPRETER_PROFILER", "USE_LITE_PROTO", "USE_MAGMA",
	"USE_MEM_EFF_ATTENTION", "USE_MIMALLOC", "USE_MIMALLOC_ON_MKL", "USE_MKLDNN",
	"USE_MKLDNN_ACL", "USE_MKLDNN_CBLAS", "USE_MPI", "USE_MPS", "USE_NATIVE_ARCH", "USE_NCCL",
	"USE_NNAPI", "USE_NNPACK", "USE_NUMA", "USE_NUMPY", "USE_NVRTC", "USE_NVSHMEM",
	"USE_OBSERVERS", "USE_OPENCL", "USE_OPENMP", "USE_PER_OPERATOR_HEADERS",
	"USE_PRECOMPILED_HEADERS", "USE_PROF", "USE_PYTORCH_METAL", "USE_PYTORCH_METAL_EXPORT",
	"USE_PYTORCH_QNNPACK", "USE_RCCL", "USE_ROCM", "USE_ROCM_KERNEL_ASSERT", "USE_SNPE",
	"USE_SOURCE_DEBUG_ON_MOBILE", "USE_STATIC_CUDNN", "USE_STATIC_MKL", "USE_STATIC_NCCL",
	"USE_SYSTEM_BENCHMARK", "USE_SYSTEM_CPUINFO", "USE_SYSTEM_EIGEN_INSTALL", "USE_SYSTEM_FP16",
	"USE_SYSTEM_FXDIV", "USE_SYSTEM_GLOO", "USE_SYSTEM_LIBS", "USE_SYSTEM_NCCL",
	"USE_SYSTEM_NVTX", "USE_SYSTEM_ONNX", "USE_SYSTEM_PSIMD", "USE_SYSTEM_PTHREADPOOL",
	"USE_SYSTEM_PYBIND11", "USE_SYSTEM_SLEEF", "USE_SYSTEM_UCC", "USE_SYSTEM_XNNPACK",
	"USE_TENSORPIPE", "USE_TSAN", "USE_UCC", "USE_VALGRIND", "USE_VULKAN",
	"USE_VULKAN_FP16_INFERENCE", "USE_VULKAN_RELAXED_PRECISION", "USE_XCCL", "USE_XNNPACK",
	"USE_XPU",
	/* read by CMakeLists.txt without option(): if(NOT DEFINED USE_BLAS), BUILD_LIBTORCHLESS [V] */
	"USE_BLAS", "BUILD_LIBTORCHLESS",
	/* setup.py and tools/setup_helpers: documented in setup.py's header or read there [V] */
	"BUILD_LIBTORCH_WHL", "BUILD_PYTHON_ONLY", "USE_CUDA_STATIC_LINK", "USE_FBGEMM_GENAI",
	"USE_LAYERNORM_FAST_RECIPROCAL", "USE_NINJA", "USE_ROCM_CK_GEMM", "USE_ROCM_CK_SDPA",
	/* [I] set by PyTorch's aarch64 CI build (pytorch/pytorch#121975) */
	"USE_PRIORITIZED_TEXT_FOR_LD",
	/* [I] older releases: the 1.12 configure summary; BUILD_DOCS was removed in 2.6 [V] */
	"BUILD_CAFFE2", "BUILD_CAFFE2_MOBILE", "BUILD_CAFFE2_OPS", "BUILD_DOCS",
	"BUILD_NVFUSER_BENCHMARK", "BUILD_TENSOREXPR_BENCHMARK", "USE_DEPLOY",
	"USE_EXPERIMENTAL_CUDNN_V8_API", "USE_FFMPEG", "USE_LEVELDB", "USE_LMDB", "USE_METAL",
	"USE_NCCL_WITH_UCC", "USE_OPENCV", "USE_QNNPACK", "USE_REDIS", "USE_ROCKSDB", "USE_TBB",
	"USE_TENSORRT", "USE_ZMQ",
	/* [I] passed as -D by projects that build PyTorch 2.0-2.2 for arm64 */
	"USE_SLEEF_FOR_ARM_VEC256",
	/* options that take a value, not switches [V, setup.py header] */
	"USE_CUSTOM_DEBINFO", "USE_NIGHTLY",
	/* switches outside the USE_/BUILD_ prefixes: setup.py, env.py, CMake option() [V] */
	"CMAKE_FRESH", "CMAKE_ONLY", "DEBUG", "DEBUG_CUDA", "REL_WITH_DEB_INFO", "VERBOSE", "WERROR",
};

/* Of the names above, those that hold a value rather than a switch. */
static const char *const pytorch_value_options[] = { "USE_CUSTOM_DEBINFO", "USE_NIGHTLY" };

/* torch_musa's CMake options on top of PyTorch's [V, M1 CMakeLists.txt / build.sh]. */
static const char *const musa_options[] = { "USE_MCCL", "USE_MUSA", "ENABLE_COMPILE_FP64" };

bool catalog_option_known(enum builder builder, const char *name)
{
	if (builder != BUILDER_PYTORCH && builder != BUILDER_TORCH_MUSA)
		return false;
	if (str_in_list(name, pytorch_options, ARRAY_SIZE(pytorch_options)))
		return true;
	return builder == BUILDER_TORCH_MUSA && str_in_list(name, musa_options, ARRAY_SIZE(musa_options));
}

const char *catalog_option_suggest(enum builder builder, const char *name)
{
	const char *best = closest_match(name, pytorch_options, ARRAY_SIZE(pytorch_options));
	if (builder != BUILDER_TORCH_MUSA)
		return best;
	const char *musa = closest_match(name, musa_options, ARRAY_SIZE(musa_options));
	if (!best || (musa && edit_distance(name, musa) < edit_distance(name, best)))
		return musa;
	return best;
}

/*
 * hotpatch_build_env_vars() of tools/setup_helpers/env.py (about 1.0 to 1.5) mapped these;
 * current PyTorch ignores NO_X and drops WITH_X [V, P11 and P2].
 */
static const char *const legacy_use_suffixes[] = {
	"CUDA", "CUDNN", "FBGEMM", "MKLDNN", "NNPACK", "DISTRIBUTED", "OPENCV", "TENSORRT",
	"QNNPACK", "FFMPEG", "SYSTEM_NCCL", "GLOO_IBVERBS", "MIOPEN",
};
static const char *const legacy_build_suffixes[] = { "BINARY", "TEST", "CAFFE2_OPS" };

bool catalog_legacy_spelling(const char *name, struct buf *target, bool *inverted)
{
	const char *x;
	if (starts_with(name, "NO_")) {
		x = name + 3;
		*inverted = true;
	} else if (starts_with(name, "WITH_")) {
		x = name + 5;
		*inverted = false;
	} else {
		return false;
	}
	if (str_in_list(x, legacy_use_suffixes, ARRAY_SIZE(legacy_use_suffixes)))
		buf_addf(target, "USE_%s", x);
	else if (str_in_list(x, legacy_build_suffixes, ARRAY_SIZE(legacy_build_suffixes)))
		buf_addf(target, "BUILD_%s", x);
	else
		return false;
	return true;
}

struct switch_entry {
	const char *name;
	enum switch_reader reader;
};

/* torchvision, torch_scatter, torch_sparse: os.getenv(X, default) == "1" [V, V1/S1/S2]. */
static const struct switch_entry cpp_extension_switches[] = {
	{ "FORCE_CUDA", READ_EQUALS_ONE },
	{ "FORCE_ONLY_CUDA", READ_EQUALS_ONE },
	{ "FORCE_ONLY_CPU", READ_EQUALS_ONE },
	{ "FORCE_MPS", READ_EQUALS_ONE },
	{ "WITH_METIS", READ_EQUALS_ONE },
	{ "WITH_MTMETIS", READ_EQUALS_ONE },
	{ "WITH_SYMBOLS", READ_EQUALS_ONE },
	{ "BUILD_DOCS", READ_EQUALS_ONE },
	{ "DEBUG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_PNG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_JPEG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_WEBP", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_NVJPEG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_ROCJPEG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_FFMPEG", READ_EQUALS_ONE },
	{ "TORCHVISION_USE_VIDEO_CODEC", READ_EQUALS_ONE },
};

/*
 * pyg-lib's setup.py [V at 00e7509, version 0.1.0; U for main]: FORCE_CUDA through
 * bool(int(...)); check_env_flag() for DEBUG, REL_WITH_DEB_INFO, USE_MKL_BLAS;
 * `os.environ.get('FORCE_NINJA') is not None` and `bool(os.getenv('BUILD_DOCS', 0))`, so "0"
 * turns those two on. Removing a false one is right either way.
 */
static const struct switch_entry pyg_lib_switches[] = {
	{ "FORCE_CUDA", READ_INT },
	{ "DEBUG", READ_PYTORCH },
	{ "REL_WITH_DEB_INFO", READ_PYTORCH },
	{ "USE_MKL_BLAS", READ_PYTORCH },
	{ "FORCE_NINJA", READ_PRESENCE },
	{ "BUILD_DOCS", READ_PRESENCE },
};

/* torchaudio's _get_build() [V, A2]; BUILD_SOX/KALDI/RIR and USE_FFMPEG in older releases. */
static const struct switch_entry torchaudio_switches[] = {
	{ "USE_CUDA", READ_TORCHAUDIO },
	{ "USE_ROCM", READ_TORCHAUDIO },
	{ "USE_OPENMP", READ_TORCHAUDIO },
	{ "USE_FFMPEG", READ_TORCHAUDIO },
	{ "BUILD_RNNT", READ_TORCHAUDIO },
	{ "BUILD_ALIGN", READ_TORCHAUDIO },
	{ "BUILD_CTC_DECODER", READ_TORCHAUDIO },
	{ "BUILD_CUDA_CTC_DECODER", READ_TORCHAUDIO },
	{ "BUILD_CPP_TEST", READ_TORCHAUDIO },
	{ "BUILD_SOX", READ_TORCHAUDIO },
	{ "BUILD_KALDI", READ_TORCHAUDIO },
	{ "BUILD_RIR", READ_TORCHAUDIO },
};

static enum switch_reader lookup_switch(const char *name, const struct switch_entry *table,
					size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, table[i].name) == 0)
			return table[i].reader;
	return READ_NOT_A_SWITCH;
}

enum switch_reader catalog_switch_reader(enum builder builder, const char *name)
{
	switch (builder) {
	case BUILDER_PYTORCH:
	case BUILDER_TORCH_MUSA:
		if (!catalog_option_known(builder, name) ||
		    str_in_list(name, pytorch_value_options, ARRAY_SIZE(pytorch_value_options)))
			return READ_NOT_A_SWITCH;
		return READ_PYTORCH;
	case BUILDER_CPP_EXTENSION:
		return lookup_switch(name, cpp_extension_switches, ARRAY_SIZE(cpp_extension_switches));
	case BUILDER_PYG_LIB:
		return lookup_switch(name, pyg_lib_switches, ARRAY_SIZE(pyg_lib_switches));
	case BUILDER_TORCHAUDIO:
		return lookup_switch(name, torchaudio_switches, ARRAY_SIZE(torchaudio_switches));
	case BUILDER_GENERIC:
	case BUILDER_PYTHON:
	case BUILDER_WHEEL:
		break;
	}
	return READ_NOT_A_SWITCH;
}
