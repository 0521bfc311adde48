# The C extension callstub._native over libcallstub.so: found with pkg-config (set
# PKG_CONFIG_PATH to PREFIX/lib/pkgconfig after `scripts/install PREFIX`); the library's
# directory is recorded as the extension's run path.
import os
import shlex
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """Adds -mtls-dialect=gnu2 where the compiler takes it: the thread-local call state
    (_function.c) is then read through a TLS descriptor, a few instructions, instead of a
    call to __tls_get_addr on each access (the extension is a dlopen'ed shared object)."""

    def build_extensions(self):
        flag = "-mtls-dialect=gnu2"
        probe = os.path.join(self.build_temp, "tls_dialect_probe.c")
        os.makedirs(self.build_temp, exist_ok=True)
        with open(probe, "w") as file:
            file.write("_Thread_local int probe;\nint *address(void) { return &probe; }\n")
        try:
            self.compiler.compile([probe], output_dir=self.build_temp, extra_postargs=[flag, "-fPIC"])
        except Exception:
            flag = None
        for extension in self.extensions:
            if flag:
                extension.extra_compile_args.append(flag)
            # Only PyInit__native is exported (PyMODINIT_FUNC says so): the extension's own
            # types and functions are then reached directly, not through the GOT and PLT.
            extension.extra_compile_args.append("-fvisibility=hidden")
        super().build_extensions()


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
    cmdclass={"build_ext": BuildExt},
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
