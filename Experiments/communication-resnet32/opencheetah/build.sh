#!/usr/bin/env bash
# Builds OpenCheetah (Huang et al., USENIX Security 2022) and the dependencies its scripts/build-deps.sh pins,
# from local git mirrors, for issue 13's side-by-side. Nothing of it is committed here.
#   MIRROR=DIR OUT=DIR bash build.sh
# MIRROR holds owner+name/repo git directories (the tool library's `fetch` of Alibaba-Gemini-Lab/OpenCheetah,
# emp-toolkit/emp-tool, emp-toolkit/emp-ot, intel/hexl, microsoft/SEAL, google/cpu_features, facebook/zstd); Debian gives
# cmake, libeigen3-dev, libssl-dev, libgmp-dev. Resumable: finished steps are skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)   # before any cd: $0 may be relative
M=${MIRROR:?set MIRROR to the directory of the git mirrors}
W=${OUT:?set OUT to a build directory}
SRC=$W/src; B=$W/build; mkdir -p $SRC $B
# The mirrors leave out some large files (circuit files, pretrained models): check out every file whose blob
# is present.
clone() {
  [ -d $SRC/$2 ] && return
  git clone -q --no-checkout $M/$1/repo $SRC/$2
  ( cd $SRC/$2
    c=$(git rev-parse $3)
    git ls-tree -r --format='%(objectname) %(path)' $c > ../$2.tree
    cut -d' ' -f1 ../$2.tree | git cat-file --batch-check='%(objectname) %(objecttype)' > ../$2.check
    paste -d' ' ../$2.check ../$2.tree | awk '$2 != "missing" { sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); print }' > ../$2.present
    git checkout -q $c --pathspec-from-file=../$2.present
    echo "$2: $(wc -l < ../$2.present) files, $(grep -c missing ../$2.check || true) missing" )
}
clone Alibaba-Gemini-Lab+OpenCheetah OpenCheetah HEAD
clone emp-toolkit+emp-tool emp-tool 44b1dde
clone emp-toolkit+emp-ot emp-ot 7f3d4f0
clone intel+hexl hexl 343acab
clone microsoft+SEAL SEAL 7923472
clone facebook+zstd zstd v1.5.4
P=$SRC/OpenCheetah/patch
step() { # name srcdir cmake-args...
  local name=$1 src=$2; shift 2
  [ -f $B/.done-$name ] && return
  mkdir -p $B/deps/$name && cd $B/deps/$name
  cmake $src -DCMAKE_INSTALL_PREFIX=$B -DCMAKE_PREFIX_PATH=$B -DCMAKE_BUILD_TYPE=Release "$@" > cmake.log
  make install -j2 > make.log 2>&1
  touch $B/.done-$name
}
[ -f $SRC/emp-tool/.patched ] || { patch -s -N -p1 -i $P/emp-tool.patch -d $SRC/emp-tool; touch $SRC/emp-tool/.patched; }
step emp-tool $SRC/emp-tool
step emp-ot $SRC/emp-ot
# hexl downloads cpu_features at configure time: point it at the mirror.
sed -i "s|GIT_REPOSITORY .*cpu_features.*|GIT_REPOSITORY    $M/google+cpu_features/repo|" \
  $SRC/hexl/cmake/third-party/cpu-features/CMakeLists.txt.in
step hexl $SRC/hexl -DHEXL_BENCHMARK=OFF -DHEXL_COVERAGE=OFF -DHEXL_TESTING=OFF
# zstd as OpenCheetah's script builds it, but position independent: SEAL links it into OpenCheetah's shared
# library (Debian's static libzstd is not built with -fPIC).
step zstd $SRC/zstd/build/cmake -DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_SHARED=OFF -DZSTD_BUILD_TESTS=OFF \
  -DZSTD_MULTITHREAD_SUPPORT=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON
[ -f $SRC/SEAL/.patched ] || { patch -s -N -p1 -i $P/SEAL.patch -d $SRC/SEAL; touch $SRC/SEAL/.patched; }
step SEAL $SRC/SEAL -DSEAL_USE_MSGSL=OFF -DSEAL_USE_ZLIB=OFF -DSEAL_USE_ZSTD=ON -DSEAL_USE_INTEL_HEXL=ON \
  -DSEAL_BUILD_DEPS=OFF -DSEAL_THROW_ON_TRANSPARENT_CIPHERTEXT=ON
# OpenCheetah itself with our CIFAR ResNet-32 driver (resnet32.cpp, next to this script) as one more network.
cp $HERE/resnet32.cpp $SRC/OpenCheetah/networks/main_resnet32.cpp
grep -q "add_network_cheetah(resnet32)" $SRC/OpenCheetah/CMakeLists.txt || echo "add_network_cheetah(resnet32)" >> $SRC/OpenCheetah/CMakeLists.txt
mkdir -p $B/cheetah && cd $B/cheetah
cmake $SRC/OpenCheetah -DCMAKE_BUILD_TYPE=Release -DSCI_BUILD_NETWORKS=ON -DCMAKE_PREFIX_PATH=$B -DUSE_APPROX_RESHARE=ON > cmake.log 2>&1
make resnet32-cheetah -j2 > make.log 2>&1
echo "built: $B/cheetah/bin/resnet32-cheetah"
