"""Compiling CUDA C to a cubin: NVRTC through CuPy where a GPU is present, else nvcc.

``compile_source(source, arch)`` returns the device code of a translation unit for
``arch`` (``"sm_90"``): a cubin (or PTX where NVRTC cannot target ``arch``, which the
driver loads all the same). Compiled code is kept in memory for the process and in
jitgraph's disk cache (``jitgraph.cache``), keyed by the source's SHA-256, the arch and
the compiler's version. Floating-point contraction is off (``-fmad=false``): a fused
multiply-add rounds once where NumPy rounds twice.

>>> compiler_available() is None or isinstance(compiler_available(), str)
True
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jitgraph.cache import cache_key, get_cache

__all__ = [
    "CudaCompileError",
    "compile_source",
    "compiler_available",
    "compiler_version",
    "nvcc_path",
]

# IEEE results as NumPy's: no contraction into fused multiply-adds, subnormals kept (not
# flushed to zero), correctly rounded division and square root.
NVCC_FLAGS = ("-O3", "-std=c++17", "-fmad=false", "-ftz=false", "-prec-div=true", "-prec-sqrt=true")
NVRTC_FLAGS = ("-std=c++17", "--fmad=false", "--ftz=false", "--prec-div=true", "--prec-sqrt=true")
_compiled: dict[tuple[str, str], bytes] = {}


class CudaCompileError(ValueError):
    """The CUDA compiler refused a translation unit (a bug in the code generator)."""


def _cupy_nvrtc() -> Any:
    """CuPy's compiler module when CuPy imports and sees a GPU, else None."""
    try:
        import cupy  # type: ignore[import-not-found, unused-ignore]

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        import cupy.cuda.compiler as compiler  # type: ignore[import-not-found, unused-ignore]
    except Exception:  # no CuPy, no driver, no device: NVRTC is not usable here
        return None
    return compiler


def nvcc_path() -> str | None:
    """Where ``nvcc`` is (on PATH, else the CUDA toolkit's usual place), or None."""
    return shutil.which("nvcc") or (
        "/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None
    )


def compiler_available() -> str | None:
    """None when CUDA C can be compiled here (NVRTC through CuPy, or nvcc), else why not."""
    if _cupy_nvrtc() is not None or nvcc_path() is not None:
        return None
    return "no CUDA compiler: CuPy with a GPU (NVRTC) is not available and nvcc is not on PATH"


@functools.cache
def compiler_version() -> str:
    """The compiler ``compile_source`` uses, with its version (part of the cache key)."""
    compiler = _cupy_nvrtc()
    if compiler is not None:
        try:
            major, minor = compiler._get_nvrtc_version()  # CuPy's own (memoized) query
        except AttributeError:
            from cupy_backends.cuda.libs import (  # type: ignore[import-not-found, unused-ignore]
                nvrtc,
            )

            major, minor = nvrtc.getVersion()
        return f"nvrtc {major}.{minor}"
    nvcc = nvcc_path()
    if nvcc is None:
        raise CudaCompileError(str(compiler_available()))
    output = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=False)
    lines = output.stdout.strip().splitlines()
    return "nvcc " + (lines[-1] if lines else "unknown")


def compile_source(source: str, arch: str) -> bytes:
    """The device code of ``source`` for ``arch`` (``"sm_XX"``), from memory, the disk
    cache or the compiler. A compile error raises ``CudaCompileError`` (a ValueError)
    with the compiler's message and the source lines it names."""
    if not re.fullmatch(r"sm_\d+[a-z]?", arch):
        raise ValueError(f"compile_source: arch must look like 'sm_90', got {arch!r}")
    digest = hashlib.sha256(source.encode()).hexdigest()
    if (digest, arch) in _compiled:
        return _compiled[(digest, arch)]
    version = compiler_version()
    key = cache_key(
        graph=digest, inputs="", backend="cuda", target=f"arch={arch} compiler={version}"
    )
    cache = get_cache()
    code = cache.load(key)
    if code is None:
        code = (
            _compile_nvrtc(source, arch)
            if version.startswith("nvrtc")
            else _nvcc_compile(source, arch)
        )
        cache.store(key, code)
    _compiled[(digest, arch)] = code
    return code


def _nvcc_compile(source: str, arch: str) -> bytes:
    nvcc = nvcc_path()
    assert nvcc is not None
    with tempfile.TemporaryDirectory(prefix="jitgraph-cuda-") as directory:
        path = os.path.join(directory, "kernel.cu")
        with open(path, "w") as file:
            file.write(source)
        target = os.path.join(directory, "kernel.cubin")
        command = [nvcc, "-cubin", f"-arch={arch}", *NVCC_FLAGS, path, "-o", target]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise _error(source, result.stderr + result.stdout)
        with open(target, "rb") as file:
            return file.read()


def _compile_nvrtc(source: str, arch: str) -> bytes:
    """NVRTC through CuPy's bindings, not ``cupy.RawModule``/``compile_using_nvrtc``: those
    append ``-ftz=true`` (CuPy issue 9576), which flushes float32 subnormals to zero."""
    from cupy.cuda import nvrtc  # type: ignore[import-not-found, unused-ignore]

    options = (*NVRTC_FLAGS, f"--gpu-architecture={arch}", *_include_options())
    program = nvrtc.createProgram(source, "jitgraph.cu", (), ())
    try:
        try:
            nvrtc.compileProgram(program, options)
        except nvrtc.NVRTCError:
            raise _error(source, nvrtc.getProgramLog(program)) from None
        return bytes(nvrtc.getCUBIN(program))
    finally:
        nvrtc.destroyProgram(program)


def _include_options() -> tuple[str, ...]:
    """``-I`` options for the CUDA headers (cuda_fp16.h): the toolkit CuPy found, and the
    headers of the ``nvidia-cuda-runtime`` wheels (through cuda-pathfinder, as CuPy does)."""
    candidates: list[str] = []
    try:
        import cupy  # type: ignore[import-not-found, unused-ignore]

        path = cupy.cuda.get_cuda_path()
        if path:
            candidates.append(os.path.join(path, "include"))
    except Exception:  # no toolkit known to CuPy: NVRTC's built-in headers may do
        pass
    try:
        from cuda.pathfinder import (  # type: ignore[import-not-found, unused-ignore]
            find_nvidia_header_directory,
        )

        found = find_nvidia_header_directory("cudart")
        if found:
            candidates.append(str(found))
    except Exception:  # no cuda-pathfinder, or no header wheel
        pass
    if not any(os.path.exists(os.path.join(c, "cuda_fp16.h")) for c in candidates):
        try:  # CuPy's own copy of the CUDA headers, the last resort
            import cupy  # type: ignore[import-not-found, unused-ignore]

            bundled = sorted(Path(cupy.__file__).parent.glob("**/cuda_fp16.h"), reverse=True)
            candidates += [str(p.parent) for p in bundled[:1]]
        except Exception:  # no CuPy: NVRTC is not used then
            pass
    return tuple(f"-I{c}" for c in dict.fromkeys(candidates) if os.path.isdir(c))


def _error(source: str, log: str) -> CudaCompileError:
    """The compiler's message, then each source line it names (with two lines of context)."""
    lines = source.splitlines()
    named = sorted({int(n) for n in re.findall(r"\((\d+)\): (?:error|warning)", log)})
    excerpts = []
    for number in named[:5]:
        window = range(max(1, number - 2), min(len(lines), number + 2) + 1)
        excerpts.append(
            "\n".join(f"{n:5d}{'>' if n == number else ' '} {lines[n - 1]}" for n in window)
        )
    message = "the CUDA compiler refused the generated source:\n" + log.strip()
    if excerpts:
        message += "\n\nsource lines:\n" + "\n...\n".join(excerpts)
    return CudaCompileError(message)
