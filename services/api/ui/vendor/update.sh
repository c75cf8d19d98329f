#!/bin/sh
# Refreshes Swagger UI's assets served at /api/docs (no CDN: the docs work without network).
# Swagger UI 5 is needed: FastAPI emits OpenAPI 3.1, which Swagger UI 4 cannot render.
# To upgrade: change VERSION and INTEGRITY (`npm view swagger-ui-dist@X dist.integrity`),
# run this script, commit static/vendor/swagger-ui/. Needs npm, tar, openssl, base64.
set -eu

VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
FILES="swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE"

here=$(cd "$(dirname "$0")" && pwd)
target="$here/../static/vendor/swagger-ui"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball="$work/swagger-ui-dist-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "integrity mismatch for swagger-ui-dist@$VERSION: expected $INTEGRITY, got $actual" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$target"
for file in $FILES; do
    cp "$work/package/$file" "$target/$file"
done
echo "swagger-ui-dist@$VERSION ($INTEGRITY)" > "$target/VERSION"
# the bundle ends with a source map comment whose file is not shipped: drop it
sed -i '/^\/\/# sourceMappingURL=/d' "$target/swagger-ui-bundle.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$target/swagger-ui.css"
echo "Swagger UI $VERSION extracted to $target"
