# All dependencies come from Debian packages (see docs/dependencies.md for why each one).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Libev REQUIRED)
pkg_check_modules(CK REQUIRED IMPORTED_TARGET ck)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
# libxcrypt (Debian's libcrypt-dev) for bcrypt; it ships libcrypt.pc.
pkg_check_modules(LIBCRYPT REQUIRED IMPORTED_TARGET libcrypt)
if(ND_BUILD_TESTS)
  pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)
  pkg_check_modules(LIBNATS IMPORTED_TARGET libnats)
endif()
