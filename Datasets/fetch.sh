#!/usr/bin/env bash
# Fetches and verifies a dataset into Datasets/ (run by `make data`). Idempotent.
#   bash Datasets/fetch.sh            CIFAR-100 (default)
#   bash Datasets/fetch.sh cifar10    CIFAR-10
# CIFAR-100: if Datasets/cifar-100-binary/{train,test}.bin exist and match SHA256SUMS, nothing happens.
# Otherwise the archive is unpacked from $SIBYL_SHARED/datasets/ (default ../shared/datasets/ next to
# the repository) when present, else downloaded from the official site; then both files are checked
# with sha256sum against Datasets/SHA256SUMS, and a mismatch is an error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
shared="${SIBYL_SHARED:-$root/../shared}"
what="${1:-cifar100}"

fail() { echo "fetch.sh: error: $*" >&2; exit 1; }
note() { echo "fetch.sh: $*"; }

download() {   # url destination
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --connect-timeout 20 -o "$2" "$1" || fail "download of $1 failed (no network? copy the archive to $shared/datasets/ instead)"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || fail "download of $1 failed (no network? copy the archive to $shared/datasets/ instead)"
  else
    fail "neither curl nor wget is installed; install one or copy the archive to $shared/datasets/"
  fi
}

unpack() {     # archive folder-inside-archive
  local staging
  staging="$(mktemp -d "$here/.unpack.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  tar -xzf "$1" -C "$staging" || fail "could not unpack $1 (damaged archive or disk full)"
  [ -d "$staging/$2" ] || fail "$1 does not contain $2/"
  mkdir -p "$here/$2"
  for f in "$staging/$2"/*; do mv -f "$f" "$here/$2/"; done
  rm -rf "$staging"
  trap - EXIT
}

verify_cifar100() {
  [ -f "$here/cifar-100-binary/train.bin" ] && [ -f "$here/cifar-100-binary/test.bin" ] || return 1
  (cd "$here" && grep ' cifar-100-binary/' SHA256SUMS | sha256sum --quiet -c - >/dev/null 2>&1)
}

case "$what" in
  cifar100)
    [ -f "$here/SHA256SUMS" ] || fail "$here/SHA256SUMS is missing (it is part of the repository; restore it with git checkout)"
    if verify_cifar100; then
      note "Datasets/cifar-100-binary is present and verified; nothing to do"
      exit 0
    fi
    if [ -e "$here/cifar-100-binary/train.bin" ] || [ -e "$here/cifar-100-binary/test.bin" ]; then
      note "Datasets/cifar-100-binary exists but does not match SHA256SUMS; fetching it again"
    fi
    archive="$shared/datasets/cifar-100-binary.tar.gz"
    if [ -f "$archive" ]; then
      note "unpacking $archive"
      unpack "$archive" cifar-100-binary
    else
      url="https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
      note "no $archive; downloading $url (161 MiB)"
      download "$url" "$here/.cifar-100-binary.tar.gz"
      # Official archive: 168,513,733 bytes, MD5 03b5dce01913d631647c71ecec9e9cb8.
      echo "03b5dce01913d631647c71ecec9e9cb8  $here/.cifar-100-binary.tar.gz" | md5sum --quiet -c - \
        || { rm -f "$here/.cifar-100-binary.tar.gz"; fail "the downloaded archive has the wrong MD5; try again"; }
      unpack "$here/.cifar-100-binary.tar.gz" cifar-100-binary
      rm -f "$here/.cifar-100-binary.tar.gz"
    fi
    rm -f "$here"/cifar-100-binary/.*.sha256-stamp
    if ! (cd "$here" && grep ' cifar-100-binary/' SHA256SUMS | sha256sum -c -); then
      fail "checksum mismatch in Datasets/cifar-100-binary (see above); delete Datasets/cifar-100-binary and run make data again"
    fi
    note "Datasets/cifar-100-binary is ready (50,000 train + 10,000 test records, SHA-256 verified)"
    ;;
  cifar10)
    folder="$here/cifar-10-batches-bin"
    files="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin"
    complete=1
    for f in $files; do
      [ "$(stat -c %s "$folder/$f" 2>/dev/null || echo 0)" = 30730000 ] || complete=0
    done
    if [ "$complete" = 1 ]; then
      note "Datasets/cifar-10-batches-bin is present (sizes checked); nothing to do"
      exit 0
    fi
    archive="$shared/datasets/cifar-10-binary.tar.gz"
    if [ -f "$archive" ]; then
      note "unpacking $archive"
      unpack "$archive" cifar-10-batches-bin
    else
      url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
      note "downloading $url (163 MiB)"
      download "$url" "$here/.cifar-10-binary.tar.gz"
      echo "c32a1d4ab5d03f1284b67883e8d87530  $here/.cifar-10-binary.tar.gz" | md5sum --quiet -c - \
        || { rm -f "$here/.cifar-10-binary.tar.gz"; fail "the downloaded archive has the wrong MD5 (expected the official c32a1d4ab5d03f1284b67883e8d87530); try again"; }
      unpack "$here/.cifar-10-binary.tar.gz" cifar-10-batches-bin
      rm -f "$here/.cifar-10-binary.tar.gz"
    fi
    for f in $files; do
      [ "$(stat -c %s "$folder/$f" 2>/dev/null || echo 0)" = 30730000 ] || fail "$folder/$f is missing or has the wrong size; delete $folder and run again"
    done
    if grep -q ' cifar-10-batches-bin/' "$here/SHA256SUMS" 2>/dev/null; then
      (cd "$here" && grep ' cifar-10-batches-bin/' SHA256SUMS | sha256sum -c -) || fail "checksum mismatch in $folder; delete it and run again"
    fi
    note "Datasets/cifar-10-batches-bin is ready (archive MD5 checked when downloaded; file sizes checked)"
    ;;
  *)
    fail "unknown dataset '$what' (use cifar100 or cifar10)"
    ;;
esac
