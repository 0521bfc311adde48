# The C extension callstub._native over libcallstub.so: found with pkg-config (set
# PKG_CONFIG_PATH to PREFIX/lib/pkgconfig after `scripts/install PREFIX`); the library's
# directory is recorded as the extension's run path.
import shlex
import subprocess

from setuptools import Extension, setup


def pkg_config(*arguments):
    try:
        output = subprocess.run(["pkg-config", *arguments, "callstub"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(
            "callstub: pkg-config cannot find libcallstub; run scripts/install PREFIX and set "
            f"PKG_CONFIG_PATH=PREFIX/lib/pkgconfig ({error})")
    return shlex.split(output)


include_dirs = [flag[2:] for flag in pkg_config("--cflags-only-I")]
library_dirs = [flag[2:] for flag in pkg_config("--libs-only-L")]

setup(
    ext_modules=[
        Extension(
            "callstub._native",
            sources=[
                "src/callstub/_native.c", "src/callstub/_values.c", "src/callstub/_function.c",
                "src/callstub/_callback.c",
            ],
            depends=["src/callstub/_native.h"],
            include_dirs=include_dirs,
            library_dirs=library_dirs,
            runtime_library_dirs=library_dirs,
            libraries=["callstub", "dl"],
        )
    ]
)
