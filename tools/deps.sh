#!/usr/bin/env bash
# Installs the Debian packages nnrun needs when any is missing (as root), or says what to install.
set -eu
pkgs="make gcc g++ pkg-config libyaml-dev libopenblas-dev libcriterion-dev zlib1g-dev valgrind"
# clang and its runtimes build the AddressSanitizer/UBSan suite and the libFuzzer targets.
pkgs="$pkgs clang-14 libclang-rt-14-dev"
# Printed characters: FreeType renders them, libpng reads and writes PNG, and the fonts.
pkgs="$pkgs libfreetype-dev libpng-dev fonts-dejavu-core fonts-dejavu-extra fonts-freefont-ttf"
pkgs="$pkgs fonts-urw-base35 fonts-liberation2 fonts-noto-mono fonts-crosextra-carlito"
pkgs="$pkgs fonts-crosextra-caladea fonts-open-sans fonts-lato fonts-hack fonts-linuxlibertine"
# More training faces for printed characters (configs/printed-fonts.txt says which families):
# the more designs the net sees, the better it reads faces it never saw.
pkgs="$pkgs fonts-adf-accanthis fonts-adf-baskervald fonts-adf-gillius fonts-adf-romande"
pkgs="$pkgs fonts-adf-switzera fonts-adf-tribun fonts-adf-universalis fonts-adf-verana fonts-b612"
pkgs="$pkgs fonts-cabin fonts-cantarell fonts-cardo fonts-century-catalogue fonts-clear-sans"
pkgs="$pkgs fonts-comfortaa fonts-courier-prime fonts-dosis fonts-firacode fonts-go fonts-hermit"
pkgs="$pkgs fonts-inconsolata fonts-inter fonts-jetbrains-mono fonts-karla fonts-league-spartan"
pkgs="$pkgs fonts-lmodern fonts-manrope fonts-mononoki fonts-mplus fonts-oldstandard fonts-oxygen"
pkgs="$pkgs fonts-play fonts-quattrocento fonts-quicksand fonts-roboto-slab fonts-roboto-unhinted"
pkgs="$pkgs fonts-sil-andika fonts-sil-charis fonts-sil-gentiumplus fonts-sora fonts-stix fonts-tuffy"
# Fashion-MNIST, for configs/lenet5-fashion.yaml.
pkgs="$pkgs dataset-fashion-mnist"
need=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
else
    echo "deps: missing Debian packages:$need" >&2
    echo "deps: run: sudo apt-get install -y$need" >&2
    exit 1
fi
