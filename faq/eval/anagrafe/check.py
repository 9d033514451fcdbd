import glob, os, sys, collections, tomllib
base = sys.argv[1]
ids = {os.path.basename(f)[:-5] for f in glob.glob(os.path.join(base, "sheets", "*.toml"))}
for f in glob.glob(os.path.join(base, "sheets", "*.toml")):
    assert tomllib.load(open(f, "rb"))["id"] == os.path.basename(f)[:-5]
lines = open(os.path.join(base, "queries.tsv"), encoding="utf-8").read().split("\n")
assert lines[-1] == ""; lines = lines[:-1]
assert lines[0].startswith("#")
per = collections.Counter(); none = 0; answ = 0; multi = 0; errs = []; seen = set()
for n, l in enumerate(lines[1:], 2):
    if l.count("\t") != 1: errs.append((n, "tabs", l)); continue
    q, e = l.split("\t")
    if not q.strip() or q != q.strip(): errs.append((n, "query", l))
    if q.lower() in seen: errs.append((n, "duplicate", l))
    seen.add(q.lower())
    if e == "-": none += 1; continue
    answ += 1
    parts = e.split(",")
    if len(parts) > 1: multi += 1
    if len(set(parts)) != len(parts): errs.append((n, "dup id", l))
    for p in parts:
        if p not in ids: errs.append((n, "unknown id " + p, l))
        per[p] += 1
for i in ids:
    if per[i] < 5: errs.append((0, f"sheet {i} has {per[i]} queries", ""))
total = answ + none
print(f"sheets={len(ids)} queries={total} answerable={answ} (multi-label {multi}) no-answer={none}")
print("per sheet min/max:", min(per[i] for i in ids), max(per[i] for i in ids))
if total < 320: errs.append((0, "fewer than 320 queries", ""))
if none < 70: errs.append((0, "fewer than 70 no-answer", ""))
if not 34 <= len(ids) <= 38: errs.append((0, "sheet count", ""))
for e in errs: print("ERROR", e)
sys.exit(1 if errs else 0)
