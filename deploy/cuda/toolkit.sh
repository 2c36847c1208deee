#!/usr/bin/env bash
# A CUDA 13.0 toolkit from PyPI wheels, for `cargo build --features cuda` on any Linux x86_64
# machine, GPU or not: no NVIDIA installer, no root.
#
#   deploy/cuda/toolkit.sh DIR            # compiler + headers + the runtime libraries
#   deploy/cuda/toolkit.sh DIR --stubs    # compiler + headers + link stubs (CI: build only)
#   source DIR/env.sh                     # CUDA_ROOT, PATH, CUDA_COMPUTE_CAP for cargo
#
# Why CUDA 13.0 and these wheels: PyPI's CUDA 12 compiler wheels (nvidia-cuda-nvcc-cu12) ship
# ptxas but no nvcc; the CUDA 13 wheels ship nvcc, and 13.0 is the newest release the cudarc
# that candle 0.11 uses knows (cudarc asks `nvcc --version`). The wheels install into one tree
# (site-packages/nvidia/cu13: bin, include, lib, nvvm) that nvcc treats as its toolkit root.
#
# Why stubs: candle links the CUDA libraries at build time (cudarc's `dynamic-linking`), and
# the driver library (libcuda.so.1) comes with the NVIDIA driver, never with a wheel. As the
# toolkit's own lib/stubs do, --stubs builds empty libraries under the real sonames from the
# function names cudarc binds (its sys modules), so the link resolves and the binary, on a
# machine with the driver and CUDA 13 libraries, loads the real ones. Without --stubs the real
# cuBLAS, cuRAND and NVRTC come from their wheels (~700 MB) and only libcuda is stubbed, for
# linking; at run time the driver's own libcuda.so.1 is used.
set -euo pipefail

dir=${1:?usage: deploy/cuda/toolkit.sh DIR [--stubs]}
mode=${2:-full}
case "$mode" in full | --stubs) ;; *) echo "unknown option $mode (expected --stubs)" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Pinned together: one CUDA release (13.0), so headers, compiler and libraries agree.
compiler=(nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88
  nvidia-cuda-cccl==13.0.85 nvidia-cuda-runtime==13.0.96)
libraries=(nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35 nvidia-cuda-nvrtc==13.0.88)

[ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv"
pkgs=("${compiler[@]}")
[ "$mode" = full ] && pkgs+=("${libraries[@]}")
"$dir/venv/bin/pip" install -q --disable-pip-version-check "${pkgs[@]}"

root=$("$dir/venv/bin/python" -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13"))')
[ -x "$root/bin/nvcc" ] || { echo "no nvcc in $root/bin after installing ${compiler[0]}" >&2; exit 1; }
lib=$root/lib
mkdir -p "$lib/stubs"

# Unversioned names for the linker (-lcudart, -lcublas…): wheels ship only libX.so.N.
for so in "$lib"/lib*.so.*; do
  [ -e "$so" ] || continue
  base=$(basename "$so"); plain=${base%%.so.*}.so
  [ -e "$lib/$plain" ] || ln -s "$base" "$lib/$plain"
done

# Link stubs: every function cudarc can bind, in a library with the real soname.
cudarc=$(cd "$repo" && cargo metadata --format-version 1 --locked --features cuda 2>/dev/null |
  "$dir/venv/bin/python" -c 'import json, sys, os
pkgs = json.load(sys.stdin)["packages"]
print(next(os.path.dirname(p["manifest_path"]) for p in pkgs if p["name"] == "cudarc"))')
stub() { # stub LIBNAME SONAME SYS_MODULE
  local name=$1 soname=$2 module=$3 c
  c=$(mktemp --suffix .c)
  grep -oE 'load::<_F>\("[A-Za-z0-9_]+"\)' "$cudarc/src/$module/sys/mod.rs" | sed -E 's/.*\("(.*)"\)/\1/' |
    sort -u | sed -E 's/.*/void &(void) {}/' >"$c"
  [ -s "$c" ] || { echo "no functions found in $cudarc/src/$module/sys/mod.rs" >&2; exit 1; }
  cc -shared -fPIC -Wl,-soname,"$soname" -o "$lib/stubs/lib$name.so" "$c"
  rm -f "$c"
}
stub cuda libcuda.so.1 driver
if [ "$mode" = --stubs ]; then
  stub cublas libcublas.so.13 cublas
  stub cublasLt libcublasLt.so.13 cublaslt
  stub curand libcurand.so.10 curand
  stub nvrtc libnvrtc.so.13 nvrtc
fi

cat >"$dir/env.sh" <<EOF
# made by deploy/cuda/toolkit.sh ($mode): source it before cargo build --features cuda
export CUDA_ROOT="$root" CUDA_PATH="$root"
export PATH="$root/bin:\$PATH"
# the GPU generation the kernels are compiled for (nvidia-smi decides when it is there;
# 80 = Ampere, 90 = Hopper); CUDA 13 compiles for 75 and newer
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-\$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d . || true)}"
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-80}"
# at run time: the wheels' libraries, after the driver's (libcuda.so.1 is never taken from stubs)
export LD_LIBRARY_PATH="\${LD_LIBRARY_PATH:+\$LD_LIBRARY_PATH:}$lib"
EOF
echo "CUDA toolkit ($mode) in $root; now: source $dir/env.sh"
