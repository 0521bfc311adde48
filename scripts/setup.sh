#!/usr/bin/env bash
# Installs the Debian 12 packages CallStub builds and tests with, only those missing, so
# a second run returns at once. Sourced by scripts/main and scripts/test.
set -euo pipefail

# libc6-dbg: glibc's separate debug info, which the DWARF tests verify declarations against;
# dwz: to build fixtures whose DWARF uses an alternate (dwz) file; libgsl27 + libgsl-dbg:
# a real library passing structs by value (gsl_complex), with its debug info.
# The header corpus (Tests/HeaderCorpusTests): the -dev packages whose headers are parsed
# with gcc's and clang's preprocessed output (GSL's and glibc's checked against DWARF);
# zlib and sqlite3 are also called from their headers alone (no debug package exists).
# The Python package (python/): Debian's python3 with its headers, venv, setuptools and pytest;
# cffi and LuaJIT are the peers `callstub bench --peers` compares it with.
# chromium: the CLI tests open `callstub view --html` pages in headless Chromium.
# binutils-dev: libctf's header (ctf-api.h), for reading compact type info (CTF).
# autoconf automake libtool libltdl-dev texinfo: to build libffi 3.8 (its call plans are a
# `callstub bench --peers` column) from the peers directory's release tarball.
packages=(llvm-19-dev libffi-dev libdw-dev libelf-dev gcc clang-19 pkg-config libc6-dbg dwz libgsl27 libgsl-dbg
    libgsl-dev zlib1g-dev libsqlite3-dev libxml2-dev libssl-dev liblua5.4-dev
    python3-dev python3-venv python3-setuptools python3-pytest python3-cffi luajit chromium binutils-dev
    autoconf automake libtool libltdl-dev texinfo)
missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "setup: swift (6.1 or later) is not on PATH; install the Swift toolchain first" >&2
    exit 1
fi
