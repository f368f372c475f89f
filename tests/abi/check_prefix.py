#!/usr/bin/env python3
"""check_prefix.py OLD.abi NEW.abi: the layout rule for versioned structs.

sluice's options, callbacks and stats structs grow only by appending fields
(sluice.h; STYLE.md section 3), and sluice.abignore lets abidiff accept such
growth. abidiff's suppression accepts a change to an existing field of those
structs too, so this check holds the rest of the rule itself: every field of
the old struct is still there, at the same offset, with the same type.
Prints each violation; exit status 1 if there is one."""
import re
import sys
import xml.etree.ElementTree as ET

VERSIONED = re.compile(r"^sluice_[a-z0-9_]*_(options|callbacks|stats)$")


def load(path):
    root = ET.parse(path).getroot()
    by_id = {}
    for el in root.iter():
        if "id" in el.attrib:
            by_id[el.attrib["id"]] = el
    return root, by_id


def type_name(by_id, tid, depth=0):
    """A name for type |tid| that does not depend on the file's ids."""
    el = by_id.get(tid)
    if el is None or depth > 20:
        return "?" + tid
    tag = el.tag
    if tag == "pointer-type-def":
        return type_name(by_id, el.attrib["type-id"], depth + 1) + "*"
    if tag == "reference-type-def":
        return type_name(by_id, el.attrib["type-id"], depth + 1) + "&"
    if tag == "qualified-type-def":
        quals = [q for q in ("const", "volatile") if el.attrib.get(q) == "yes"]
        return " ".join(quals + [type_name(by_id, el.attrib["type-id"], depth + 1)])
    if tag == "typedef-decl":
        # The name and what it stands for: uint32_t -> unsigned int.
        return el.attrib["name"] + "=" + type_name(by_id, el.attrib["type-id"], depth + 1)
    if tag == "array-type-def":
        return type_name(by_id, el.attrib["type-id"], depth + 1) + "[%s]" % el.attrib.get(
            "size-in-bits", "?")
    if tag == "function-type":
        params = [type_name(by_id, p.attrib["type-id"], depth + 1)
                  for p in el.findall("parameter") if "type-id" in p.attrib]
        ret = el.find("return")
        r = type_name(by_id, ret.attrib["type-id"], depth + 1) if ret is not None else "void"
        return "%s(%s)" % (r, ", ".join(params))
    return el.attrib.get("name", tag) + ":" + el.attrib.get("size-in-bits", "")


def versioned_layouts(path):
    root, by_id = load(path)
    layouts = {}
    for cls in root.iter("class-decl"):
        name = cls.attrib.get("name", "")
        if not VERSIONED.match(name) or cls.attrib.get("is-declaration-only") == "yes":
            continue
        fields = []
        for dm in cls.findall("data-member"):
            var = dm.find("var-decl")
            fields.append((var.attrib["name"], dm.attrib.get("layout-offset-in-bits"),
                           type_name(by_id, var.attrib["type-id"])))
        layouts[name] = fields
    return layouts


def main():
    old, new = versioned_layouts(sys.argv[1]), versioned_layouts(sys.argv[2])
    bad = 0
    for name, fields in sorted(old.items()):
        if name not in new:
            continue  # a struct no function reaches any more: abidiff reports the functions
        now = new[name]
        for i, (fname, off, ftype) in enumerate(fields):
            if i >= len(now) or now[i] != (fname, off, ftype):
                got = now[i] if i < len(now) else "nothing"
                print("struct %s: field %d was %s at bit %s of type %s, now %s" %
                      (name, i, fname, off, ftype, got))
                bad += 1
                break
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
