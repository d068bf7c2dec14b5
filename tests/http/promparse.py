"""A strict reader of the Prometheus text exposition format 0.0.4, for the
http tests (promtool is not available): every line must be a HELP, a TYPE,
another comment or a sample; families are declared once, before their
samples, and kept together; counters end in _total; histograms have
increasing le bounds, cumulative counts, a +Inf bucket equal to _count,
and a _sum. Raises ValueError naming the line."""
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)( -?\d+)?$" % NAME)
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
PAIR = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % LABEL)


def parse_labels(text, where):
    labels, pos = {}, 0
    while pos < len(text):
        m = PAIR.match(text, pos)
        if not m:
            raise ValueError("%s: bad label set {%s}" % (where, text))
        name = m.group(1)
        if name in labels:
            raise ValueError("%s: label %s twice" % (where, name))
        labels[name] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError("%s: ',' expected in {%s}" % (where, text))
            pos += 1
    return labels


def parse_value(v, where):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", v):
        raise ValueError("%s: %r is not a number" % (where, v))
    return float(v)


def family_of(name, families):
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and families.get(base, {}).get("type") in ("histogram", "summary"):
            return base
    return None


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}"""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a line end")
    families, order, done = {}, [], set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d (%r)" % (n, line)
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            if line.startswith(("# HELP", "# TYPE")) and not m:
                raise ValueError("%s: malformed HELP or TYPE" % where)
            if not m:
                continue
            name = m.group(1)
            if name in done:
                raise ValueError("%s: family %s declared again after its samples" % (where, name))
            f = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if name not in order:
                order.append(name)
            key = "help" if line.startswith("# HELP") else "type"
            if f[key] is not None or f["samples"]:
                raise ValueError("%s: %s of %s given twice or after samples" % (where, key, name))
            f[key] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("%s: not a sample" % where)
        name, labels = m.group(1), parse_labels(m.group(3) or "", where)
        fam = family_of(name, families)
        if fam is None:
            raise ValueError("%s: sample of an undeclared family" % where)
        if order[-1] != fam:
            raise ValueError("%s: samples of %s are not together" % (where, fam))
        f = families[fam]
        if f["type"] is None or f["help"] is None:
            raise ValueError("%s: %s has no TYPE or HELP" % (where, fam))
        key = (name, tuple(sorted(labels.items())))
        if any((s[0], tuple(sorted(s[1].items()))) == key for s in f["samples"]):
            raise ValueError("%s: the same series twice" % where)
        f["samples"].append((name, labels, parse_value(m.group(4), where)))
    for name, f in families.items():
        check_family(name, f)
    return families


def check_family(name, f):
    if not f["samples"]:
        raise ValueError("family %s has no samples" % name)
    if f["type"] == "counter":
        if not name.endswith("_total"):
            raise ValueError("counter %s does not end in _total" % name)
        if any(v < 0 or math.isnan(v) for _, _, v in f["samples"]):
            raise ValueError("counter %s has a negative value" % name)
    if f["type"] != "histogram":
        return
    buckets = [(s[1], s[2]) for s in f["samples"] if s[0] == name + "_bucket"]
    les = [parse_value(l["le"], name) for l, _ in buckets]
    if les != sorted(les) or len(set(les)) != len(les) or les[-1] != math.inf:
        raise ValueError("histogram %s: le bounds not increasing to +Inf: %r" % (name, les))
    counts = [v for _, v in buckets]
    if counts != sorted(counts):
        raise ValueError("histogram %s: buckets not cumulative: %r" % (name, counts))
    total = [s[2] for s in f["samples"] if s[0] == name + "_count"]
    sums = [s[2] for s in f["samples"] if s[0] == name + "_sum"]
    if total != [counts[-1]] or len(sums) != 1 or sums[0] < 0:
        raise ValueError("histogram %s: _count %r, +Inf %r, _sum %r" % (name, total, counts[-1], sums))


def value(families, name, **labels):
    """The value of one series (name may be a histogram's _count or _sum)."""
    fam = family_of(name, families)
    for n, l, v in families[fam]["samples"]:
        if n == name and l == labels:
            return v
    raise KeyError("%s%r" % (name, labels))
