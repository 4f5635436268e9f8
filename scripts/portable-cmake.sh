# Sourced by demo.sh and test.sh: CMAKE_ARGS for a portable llama.cpp CPU build.
# The default build uses -march=native, whose AMX kernels crash with SIGILL on some virtual
# CPUs at the first matrix multiply; enable only the instruction sets this CPU reports.
portable_cmake_args() {
    local flags args="-DGGML_NATIVE=OFF"
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
    for f in avx2 fma f16c; do
        if [[ " $flags " == *" $f "* ]]; then
            args+=" -DGGML_${f^^}=ON"
        else
            args+=" -DGGML_${f^^}=OFF"
        fi
    done
    echo "$args"
}
export CMAKE_ARGS="${SCHEMASTREAM_CMAKE_ARGS:-$(portable_cmake_args)}"
