#!/bin/sh
# Hostile reports (tests/reports/tests.cmake names each case): `mailvet
# report import` refuses each with a clean error, exit status 1, in bounded
# memory (ulimit -v) and time (the test's TIMEOUT).
set -eu
: "${MAILVET:?}"
case_name=$1 expect=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
python3 - "$t/input" "$case_name" <<'PY'
import gzip, io, sys, zipfile, zlib
path, case = sys.argv[1], sys.argv[2]
head = '<?xml version="1.0"?>\n'
report = ('<feedback><report_metadata><org_name>x</org_name><email>x@x</email>'
          '<report_id>1</report_id><date_range><begin>0</begin><end>1</end></date_range>'
          '</report_metadata><policy_published><domain>example.com</domain><p>none</p>'
          '</policy_published>%s</feedback>')
if case == "billion_laughs":
    ents = '<!ENTITY lol "lol">' + "".join(
        '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i else "&lol;") * 10) for i in range(10))
    data = (head + '<!DOCTYPE feedback [' + ents + ']>' + report % "&lol9;").encode()
elif case == "external_entity":
    data = (head + '<!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
            report % "&x;").encode()
elif case == "gzip_bomb":  # 1 GiB of zeros inflates from about 1 MiB
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk, out = b"\0" * (1 << 20), []
    for _ in range(1024):
        out.append(c.compress(chunk))
    out.append(c.flush())
    data = b"".join(out)
elif case == "truncated_zip":
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("r.xml", head + report % ("<record/>" * 1000))
    data = b.getvalue()[:-40]
elif case == "oversized_xml":  # over MV_REPORT_XML_MAX (32 MiB), gzipped to stay small
    data = gzip.compress((head + report % (" " * (33 << 20))).encode())
elif case == "deep_nesting":
    data = (head + report % ("<a>" * 5000 + "</a>" * 5000)).encode()
elif case == "not_xml":
    data = b"<feedback><unclosed></feedback>"
open(path, "wb").write(data)
PY
# 1 GB of address space bounds the memory; a sanitizer build reserves terabytes
# of shadow address space and is bounded by ASan's own checks instead.
if ! ldd "$MAILVET" 2>/dev/null | grep -q libasan; then
	ulimit -v 1000000 2>/dev/null || true
fi
set +e
"$MAILVET" report import "sqlite:$t/s.db" "$t/input" >"$t/out" 2>"$t/err"
rc=$?
set -e
cat "$t/err"
[ $rc -eq 1 ] || { echo "FAIL: exit status $rc, expected 1" >&2; exit 1; }
grep -q -- "$expect" "$t/err" || { echo "FAIL: no \"$expect\" in the error" >&2; exit 1; }
echo ok
