#!/usr/bin/env bash
# Builds the upstream release of the installed libcurl (Debian's orig tarball, without Debian's
# patches) with symbols, for profiles only: Debian's libcurl names none of its internal functions,
# so perf and callgrind show libcurl's time as addresses. Prints the LD_LIBRARY_PATH that makes a
# release binary load it (same soname and symbol versions as Debian's), e.g.
#   LD_LIBRARY_PATH=$(bench/symbolized-libcurl.sh) KEEP=/tmp/cg/ bench/instructions-bench.sh 8 1
# Never ship it: it lacks Debian's security fixes. Needs the Debian archive (deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(dpkg-query -W -f '${Version}' libcurl4 | sed 's/-.*//')  # 7.88.1-10+deb12u15 -> 7.88.1
dir=$PWD/build/libcurl-symbols
lib=$dir/curl-$version/lib/.libs
if [ ! -e "$lib/libcurl.so.4" ]; then
  mkdir -p "$dir"
  curl -fsSL -o "$dir/curl.tar.gz" "http://deb.debian.org/debian/pool/main/c/curl/curl_$version.orig.tar.gz"
  tar -xzf "$dir/curl.tar.gz" -C "$dir"
  # Debian's TLS, HTTP/2 and decoders; versioned symbols as Debian's (CURL_OPENSSL_4).
  (cd "$dir/curl-$version" &&
    ./configure --with-openssl --with-nghttp2 --with-brotli --with-zstd --with-zlib --enable-versioned-symbols \
      --disable-ldap --without-libpsl --without-libidn2 --without-librtmp --without-libssh2 --disable-manual \
      CFLAGS="-O2 -g" > "$dir/configure.log" 2>&1 &&
    make -j"$(nproc)" -C lib > "$dir/make.log" 2>&1) || { echo "building libcurl failed: see $dir" >&2; exit 1; }
fi
echo "$lib"
