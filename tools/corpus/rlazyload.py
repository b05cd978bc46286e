"""Read character vectors out of an R package's lazy-load database (data/Rdata.rdx + Rdata.rdb).

R installs a package's datasets as a lazy-load database: the .rdx index and each object in the .rdb
are R's XDR serialisation, zlib-compressed behind a 4-byte big-endian length. This reader knows just
enough of the format (R Internals, "Serialization Formats") to walk the objects a text package holds:
vectors, pairlists, symbols, environments and ALTREP wrappers. It needs no R installation, which keeps
tools/corpus/build-corpus.sh to a package download and Python.
"""

import gzip
import struct
import sys
import zlib

NILVALUE, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE = 254, 253, 252, 251, 250
NAMESPACESXP, PACKAGESXP, PERSISTSXP, REFSXP = 249, 248, 247, 255
EMPTYENV, BASEENV, ATTRLANGSXP, ATTRLISTSXP, ALTREP = 242, 241, 240, 239, 238
SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP, DOTSXP = 1, 2, 3, 4, 5, 6, 17
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, VECSXP, EXPRSXP, RAWSXP = 9, 10, 13, 14, 15, 16, 19, 20, 24
PAIRLIKE = {LISTSXP, CLOSXP, PROMSXP, LANGSXP, DOTSXP, ATTRLANGSXP, ATTRLISTSXP}


class Symbol(str):
    """An R symbol, kept apart from strings so tags read as names."""


class RObject:
    def __init__(self, kind, value, attributes=None):
        self.kind, self.value, self.attributes = kind, value, attributes or {}


def decompress(blob: bytes) -> bytes:
    (length,) = struct.unpack(">I", blob[:4])
    data = zlib.decompress(blob[4:])
    if len(data) != length:
        raise ValueError(f"lazy-load record: expected {length} bytes after inflating, got {len(data)}")
    return data


class Reader:
    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR R serialisation (expected 'X\\n')")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int(), self.int()  # writer's R version, minimal reader version
        if version == 3:
            self.bytes(self.int())  # native encoding name

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return v

    def bytes(self, n: int) -> bytes:
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def length(self) -> int:
        n = self.int()
        if n == -1:  # long vector: two more ints
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def attributes(self, has_attr: bool) -> dict:
        if not has_attr:
            return {}
        pairs = self.item()
        out = {}
        while isinstance(pairs, RObject) and pairs.kind in PAIRLIKE:
            tag, car, cdr = pairs.value
            out[str(tag)] = car
            pairs = cdr
        return out

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind in (NILVALUE, EMPTYENV, BASEENV, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE):
            return None
        if kind == REFSXP:
            index = flags >> 8
            return self.refs[(index if index else self.int()) - 1]
        if kind in (PERSISTSXP, NAMESPACESXP, PACKAGESXP):
            self.int()  # always 0
            names = [self.item() for _ in range(self.int())]
            obj = RObject(kind, names)
            self.refs.append(obj)
            return obj
        if kind == SYMSXP:
            sym = Symbol(self.item() or "")
            self.refs.append(sym)
            return sym
        if kind == ENVSXP:
            obj = RObject(kind, None)
            self.refs.append(obj)
            self.int()  # locked
            enclos, frame, hashtab, attrib = self.item(), self.item(), self.item(), self.item()
            obj.value = (enclos, frame, hashtab)
            return obj
        if kind in PAIRLIKE:
            attrs = self.attributes(has_attr)
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            return RObject(kind, (tag, car, cdr), attrs)
        if kind == ALTREP:
            info, state, attrib = self.item(), self.item(), self.item()
            return RObject(kind, (info, state), {})
        if kind == CHARSXP:
            n = self.int()
            return None if n == -1 else self.bytes(n).decode("utf-8")
        if kind in (LGLSXP, INTSXP):
            n = self.length()
            value = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == REALSXP:
            n = self.length()
            value = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif kind == CPLXSXP:
            n = self.length()
            self.pos += 16 * n
            value = None
        elif kind == RAWSXP:
            value = self.bytes(self.length())
        elif kind in (STRSXP, VECSXP, EXPRSXP):
            value = [self.item() for _ in range(self.length())]
        else:
            raise ValueError(f"R serialisation: unsupported SEXP type {kind} at byte {self.pos}")
        return RObject(kind, value, self.attributes(has_attr))


def read_index(rdx_path: str) -> dict:
    """The .rdx (a gzip'd saveRDS) holds list(variables = list(name = c(offset, length)), ...)."""
    with gzip.open(rdx_path, "rb") as f:
        index = Reader(f.read()).item()
    names = index.attributes["names"].value
    variables = index.value[names.index("variables")]
    var_names = variables.attributes["names"].value
    return {name: tuple(int(x) for x in entry.value) for name, entry in zip(var_names, variables.value)}


def read_object(rdb_path: str, offset: int, length: int):
    with open(rdb_path, "rb") as f:
        f.seek(offset)
        return Reader(decompress(f.read(length))).item()


if __name__ == "__main__":
    base = sys.argv[1]  # e.g. .../janeaustenr/data/Rdata
    for name, (offset, length) in read_index(base + ".rdx").items():
        obj = read_object(base + ".rdb", offset, length)
        print(name, obj.kind, len(obj.value) if isinstance(obj.value, list) else "-", list(obj.attributes))
