# Cross build for AArch64 Linux with Debian's cross gcc; tests run under qemu user-mode emulation.
#
#   Debian 12 packages: gcc-aarch64-linux-gnu qemu-user-static, and arm64 libraries through
#   multiarch (dpkg --add-architecture arm64; apt-get update; apt-get install libcmocka-dev:arm64,
#   optionally libopenblas-dev:arm64). scripts/test-neon.sh does all of this.
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#
# Libraries come from the arm64 multiarch directories (/usr/lib/aarch64-linux-gnu), so there is
# no sysroot; pkg-config is pointed at the arm64 .pc files only.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(TCONV_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${TCONV_CROSS_TRIPLE}-gcc)
# C++ is not used today; name the cross g++ when it is installed (g++-aarch64-linux-gnu).
find_program(TCONV_CROSS_CXX ${TCONV_CROSS_TRIPLE}-g++)
if(TCONV_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${TCONV_CROSS_CXX})
endif()

# Host tools (pkg-config, qemu) from the host; libraries and headers for the target are found in
# the multiarch directories, which CMake searches through CMAKE_LIBRARY_ARCHITECTURE.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config: only the arm64 .pc files (multiarch) and the architecture-independent ones.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${TCONV_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Every target executable (ctest, check_c_source_runs, custom commands) runs through qemu. -L is
# the prefix qemu uses for the ELF interpreter, so the loader comes from libc6-arm64-cross
# (/usr/aarch64-linux-gnu/lib). The multiarch libc6:arm64 that libcmocka-dev:arm64 pulls in also
# sits on the loader's default path (/lib/aarch64-linux-gnu) but is a different Debian revision
# (2.36-9+deb12uN against 2.36-8cross1): that loader/libc mix hangs in the first pthread_create. So
# the guest's LD_LIBRARY_PATH (-E) pins libc to the loader's own package, the one we link against;
# multiarch libraries (cmocka, OpenBLAS) are still found on the default path.
#
# pthreadpool comes from a private prefix: Debian's libpthreadpool-dev is not co-installable for
# amd64 and arm64 (installing the arm64 one removes the amd64 one, and XNNPACK with it), so
# scripts/test-neon.sh extracts libpthreadpool-dev:arm64 and libpthreadpool0:arm64 with
# `apt-get download` + `dpkg-deb -x` into TCONV_ARM64_SYSROOT; the library search
# (kernels/CMakeLists.txt, TCONV_PTHREADPOOL_ROOT) and qemu's library path point there.
get_filename_component(_tconv_default_sysroot "${CMAKE_CURRENT_LIST_DIR}/../build/arm64-sysroot"
                       ABSOLUTE)
set(TCONV_ARM64_SYSROOT "${_tconv_default_sysroot}" CACHE PATH
    "Private prefix holding the extracted arm64 pthreadpool packages")
set(TCONV_PTHREADPOOL_ROOT "${TCONV_ARM64_SYSROOT}/usr" CACHE PATH
    "Prefix holding include/pthreadpool.h and the library")
find_program(TCONV_QEMU_AARCH64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${TCONV_QEMU_AARCH64} -L /usr/${TCONV_CROSS_TRIPLE}
    -E LD_LIBRARY_PATH=/usr/${TCONV_CROSS_TRIPLE}/lib:${TCONV_ARM64_SYSROOT}/usr/lib/${TCONV_CROSS_TRIPLE})
