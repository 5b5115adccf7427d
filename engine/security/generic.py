"""The keyword = value detector: catches the long tail of providers no rule names.

It searches the lower-cased text for secret-ish keywords (`token`, `secret`, `passw`, `key`, ...)
with one regex, then reads what follows the keyword in the original text: the rest of the name
(`stripe_api_key`), a separator (`=`, `:`, `:=`, `=>`, `>`, ` - `, a space) and a value. The value
is only reported when `looks_random` says it is generated; that check, not the keyword, is what
keeps code like `key = cache_key(name)` quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from engine.security.entropy import is_placeholder, looks_random, shannon, small_alphabet_floor
from engine.security.keywords import KeywordFinder
from engine.security.words import (
    is_alphabet,
    is_data_blob,
    is_encoded_text,
    is_hex_constant,
    is_mangled_name,
    reads_as_name,
)

# After the keyword: the rest of the identifier, a separator zone, an opening quote or bracket.
_TAIL = re.compile(
    r"""[\w.\-]{0,40}?"""
    # a label in notes: `API token for staging: ...`, `key in prod = ...`
    r"""(?:[ \t]+(?:for|in|on|of)[ \t]+[\w.\-]{1,24}(?:[ \t][\w.\-]{1,24})?(?=[ \t]{0,3}[:=]))?"""
    r"""(?P<sep>(?P<q>\\?["'`])?[ \t]{0,3}(?:[\])>][ \t]{0,3})?"""
    # a declared type between an unquoted name and `=` (`TOKEN: &str =`, `token: string =`; after
    # a space only Go's string types, `var token string =`: `onepassword id = ...` names an id;
    # after a quote it is the next attribute: `"-key-pairs" id="..."`), or .NET's
    # `<add key="ApiToken" value="..." />`
    r"""(?:(?(q)(?!)|(?::[ \t]{0,3}&?(?:'static[ \t]+)?[A-Za-z_][\w.]{0,30}"""
    r"""(?:<[\w<>, .]{0,30}>|\[\])?\??|[ \t]+(?:string|\[\]byte))[ \t]{0,3}(?==))"""
    r"""|[ \t]+value[ \t]*(?==))?"""
    r"""(?:(?<=>)\s{0,12}|(?:[:=]{1,3}>?|=>|->|[ \t]-[ \t]|,|[ \t]is[ \t]|[ \t])[ \t]{0,6})"""
    r"""(?:[\[({][ \t]{0,3})?\\?["'`]?[ \t]{0,3})"""
    r"""(?P<val>[^\s"'`<>{}\[\]();,|][^\s"'`<>{}\[();,|]{7,1499})"""
)
# the keyword's name opens a URL's query parameter: `?apikey=`, `&secret=`
_QUERY_NAME = re.compile(r"[?&][\w.\-]*$")
_ASSIGNED = re.compile(r"[A-Za-z_][\w.\-]{0,60}?(?::=|=>|[=:])(?!/)(?=.{8})")
_STRONG_SEP = re.compile(r"[:=>,]|\s-\s|\sis\s")
_TRAIL = ".,;:\\/"


@cache
def _keyword_finder(keywords: tuple[str, ...]) -> KeywordFinder:
    # the scanner's keyword passes: one literal-anchored pass per rare anchor character (`k`,
    # `w`, `c`, `u`, ...) with the rest checked by lookarounds, instead of a trie regex that
    # stops at every `a`, `s`, `t`, `p`, `c` of the text
    return KeywordFinder(list(keywords), float("inf"))


def keyword_hits(lowered: str, keywords: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) of the keywords in `lowered` as a trie regex's `finditer` gives them: leftmost
    first, the longest keyword at each start (`credential` over `cred`), none overlapping."""
    return _keyword_finder(keywords).spans(lowered)


def find_keyword_values(
    text: str, lowered: str, keywords: tuple[str, ...], *, code: bool = False
) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, value) of generated-looking values that follow a secret keyword.

    `code`: the text is a program's source (not config, prose or a log), where a value without
    quotes is a name or an expression, not a literal; masking passes False (stay broad)."""
    if not keywords:
        return
    last_end = -1
    for hit_start, hit_end in keyword_hits(lowered, keywords):
        if hit_start < last_end:
            continue
        if _PASSWORD_NAME.match(lowered, hit_start):
            whole = _QUOTED_PASSWORD.match(text, hit_end)
            if whole is not None and _describes(whole.group("rest"), whole.group("val")):
                last_end = whole.end()
                continue  # `password_hint = "..."`
            if whole is not None:  # `password: "N{w44mqa'2si(zY8"`: the whole quoted string
                value = whole.group("val")
                last_end = whole.end()
                if (looks_random(value, 8) or _typed_password(value)) and not looks_like_name(
                    value
                ):
                    yield whole.start("val"), whole.end("val"), value
                continue
        m = _TAIL.match(text, hit_end)
        if m is None:
            continue
        sep = m.group("sep")
        if _CLOSES_TAG.search(sep) and not _names_element(text, hit_start):
            continue  # `<label for="api_key">CosmosDB API key</label>`: a label's text
        quoted = sep.rstrip(" \t")[-1:] in _QUOTES
        value = m.group("val").rstrip(_TRAIL)
        start = m.start("val")
        if "&" in value and _QUERY_NAME.search(text, max(0, hit_start - 32), hit_start + 1):
            value = value[: value.index("&")]  # `?secret=f8z&q=berlin`: one query parameter
        # keywords inside a value already read are not read again (linear time), unless the
        # value is short and turns out to be no value (`'oauth-x1', accessKey: '<uuid>'`: the
        # `auth` hit reads `accessKey:`): then the keywords in it are read on their own
        last_end = m.end() if len(value) > 64 else start
        if _describes(text[hit_end : m.start("sep")], value):
            continue  # `credential_type: x509_cert`: the value says what the credential is
        if _ID_KEY_NAME.search(lowered, _name_start(lowered, hit_start), hit_end + 6):
            continue  # `idempotency_key`, `primary_key`: a key that names a record
        if not quoted and _unquoted_reference(sep, value, code and not _in_string(text, start)):
            continue
        if sep[:1] in _QUOTES and "," in sep and _word_list(text, start):
            continue  # `'w32-unregister-hot-key', 'w32-window-exists-p'`: a list of names

        strong = _STRONG_SEP.search(sep) is not None
        inner = _ASSIGNED.match(value)
        if inner is not None:  # `token = 'PERCY_TOKEN=84f2...'`: the value is what NAME= holds
            start += inner.end()
            value = value[inner.end() :]
            strong = True
        if _code_around(text, start, value):
            continue
        url = _URL.match(value)
        if url is not None:  # `CERTS_URL = "https://host/oauth2/v1/certs"`: judge its parts
            part = _url_secret(value, url.end())
            if part is not None:
                yield start + part[0], start + part[0] + len(part[1]), part[1]
            continue
        if looks_random(value, 8 if strong else 16) and not looks_like_name(value):
            if _IDENTIFIER.fullmatch(value) and reads_as_name(value):
                continue  # `key = rfc5280.SubjectPublicKeyInfo`: a name, not a literal
            if _HASHISH.fullmatch(value) and _KEY_COMMAND.search(text, max(0, start - 60), start):
                continue  # `gpg --recv-keys <40 hex>`: a public key's fingerprint
            last_end = m.end()
            yield start, start + len(value), value
    if "variable" in lowered and "default" in lowered:
        yield from _variable_defaults(text, lowered, keywords)


# Terraform / HCL: the name is on the block's first line, the value on its `default` line. (A
# literal first, no `\b` or lookbehind: the regex engine then skips to each `variable` at C speed.)
_HCL_VARIABLE = re.compile(
    r"""variable[ \t]+"(?P<name>[\w.\-]{1,80})"[ \t]*\{(?:[^{}"]|"[^"\n]*"){0,800}?"""
    r"""\bdefault[ \t]*=[ \t]*"(?P<val>[^"\n$%{}]{8,200})(?=")"""
)


def _variable_defaults(
    text: str, lowered: str, keywords: tuple[str, ...]
) -> Iterator[tuple[int, int, str]]:
    """`variable "quasarly_token" { default = "..." }`: a secret's name gives its default."""
    for m in _HCL_VARIABLE.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
            continue  # `my_variable "x" {`: not the keyword
        name = lowered[m.start("name") : m.end("name")]
        hit = next(((name.find(k), k) for k in keywords if k in name), None)
        value = m.group("val")
        if hit is None or _describes(m.group("name")[hit[0] + len(hit[1]) :], value):
            continue
        if looks_random(value, 8) and not looks_like_name(value):
            yield m.start("val"), m.end("val"), value


# A URL: a scheme, `://`, then the host. Credentials before the host are the `url-credentials`
# rule's; a token is otherwise in a path segment or a query value (`/bot<id>:<token>/getMe`,
# `?apikey=...`), never in the words and versions around it.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^/?#@\s]*(?=[/?#]|$)")
_URL_PARTS = re.compile(r"[^/?&=#:;]+")


def _url_secret(value: str, after_host: int) -> tuple[int, str] | None:
    """The first path segment or query value of a URL (without credentials) that looks
    generated, with its offset in `value`."""
    for m in _URL_PARTS.finditer(value, after_host):
        part = m.group()
        if looks_random(part, 16) and not looks_like_name(part) and not reads_as_name(part):
            return m.start(), part
    return None


_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*")
_SHORT_HEX_INT = re.compile(r"0[xX][0-9a-fA-F]{1,16}")
_QUOTES = frozenset("\"'`")
# `name=12`, `stacklevel=3`: a keyword argument with a number, read after `key, ` or `author, `.
_NUMERIC_KWARG = re.compile(r"[A-Za-z_]\w*=-?[\d.]+")
# A password-like name and a separator, then a quoted string read to its closing quote on the
# same line: a typed password may hold any character (`{`, `(`, a quote of the other kind).
_PASSWORD_NAME = re.compile(r"passw|pwd|passphrase")
_QUOTED_PASSWORD = re.compile(
    r"""(?P<rest>[\w.\-]{0,40}?)["']?[ \t]{0,3}(?::=|=>|[:=])[ \t]{0,3}(?P<q>["'])"""
    r"""(?P<val>(?:[^\n"'\\]|\\.|(?!(?P=q))["'])*)(?P=q)[ \t]*[,;})\]]?[ \t]*(?:#.*)?$""",
    re.MULTILINE,
)


# Names with a secret's word that hold no credential: keys that name a record (an idempotency
# key is a client-chosen request id, RFC draft-ietf-httpapi-idempotency-key-header; the others are
# the relational and key-value stores' own terms), public keys (published by design), and
# XML-DSig's `SignatureValue` (a signed document's signature).
_ID_KEY_NAME = re.compile(
    r"(?:idempotency|primary|foreign|partition|sort|cache|routing|dedup\w*|lookup|row|unique"
    r"|composite|surrogate|natural|pub|public|publishable)[_\-. ]?key|signaturevalue"
)
# A secret's name with a last word that says what the value describes, not what it is:
# `credential_type: x509_cert`, `tokenEndpoint`, `secret_name: db-creds`, `password_min_length`.
# A digest's name there (`key_sha256`, `secret_hash`) says the value is a digest of the secret.
# Only a short or plain value is excused: a URL or 20+ random characters (`secret_ref: <random>`)
# are still read as a credential.
_ABOUT_WORDS = (
    "type", "kind", "name", "names", "format", "mode", "method", "scheme", "style", "label",
    "field", "header", "param", "prefix", "suffix", "length", "len", "size", "count", "min",
    "max", "pattern", "regex", "policy", "ttl", "lifetime", "expiry", "expiration", "timeout",
    "endpoint", "uri", "file", "filename", "dir", "location", "env", "var", "source",
    "provider", "backend", "store", "ref", "arn", "hint", "prompt", "placeholder",
    "description", "title", "message", "error", "enabled", "required", "version", "hash",
    "digest", "checksum", "fingerprint", "md5", "sha1", "sha256", "sha384", "sha512",
)  # fmt: skip
_DESCRIBES = re.compile(
    rf"(?:[\w.\-]*[_\-.])?(?i:{'|'.join(_ABOUT_WORDS)})"
    rf"|[\w.\-]*[a-z0-9](?:{'|'.join(w[0].upper() + w[1:] for w in _ABOUT_WORDS)})"
)


def _describes(rest: str, value: str) -> bool:
    """`rest` (the name after its secret word) says what `value` describes, and `value` is
    neither a URL nor 20+ random characters."""
    if not _DESCRIBES.fullmatch(rest):
        return False
    return not (_URL.match(value) or (len(value) >= 20 and looks_random(value, 20)))


_KEY_COMMAND = re.compile(r"(?i)--recv-keys?\b|--keyserver\b|\bkeyserver\b|\bfingerprint\b")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-. ")


def _name_start(lowered: str, at: int, reach: int = 24) -> int:
    """Where the name holding position `at` starts (at most `reach` characters back; a space
    may join words: `primary key`)."""
    start = at
    while start > max(0, at - reach) and lowered[start - 1] in _NAME_CHARS:
        start -= 1
    return start


_TAG_NAME = re.compile(r"<[\w:.\-]*$")
_KEYED_ELEMENT = re.compile(r"""<[\w:.\-]+[ \t]+(?:key|name)[ \t]*=[ \t]*["'][\w:.\-]*$""")
_CLOSES_TAG = re.compile(r"(?<![=\-])>")  # `>`, not the `=>` or `->` of an assignment


def _names_element(text: str, at: int) -> bool:
    """The keyword at `at` is (part of) an element's name (`<db_password>`, `<ns:apiKey>`) or of
    the `key` / `name` attribute that names it (`<entry key="api.token">`, Java's properties XML;
    `<property name="db.password">`), not another attribute's value or text: only then is what
    follows `>` its value."""
    lo = max(0, at - 80)
    return (
        _TAG_NAME.search(text, lo, at) is not None
        or _KEYED_ELEMENT.search(text, lo, at) is not None
    )


_LIST_ITEM = re.compile(r"""["'],[ \t]*["']""")


def _word_list(text: str, at: int) -> bool:
    """The line holds four or more quoted items in a row (`'a', 'b', 'c', 'd'`): a word list,
    where the keyword is part of one item and the value the next item, not its value."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return len(_LIST_ITEM.findall(text, start, len(text) if end < 0 else end)) >= 3


def _typed_password(value: str) -> bool:
    """A password as password rules ask for one: 8+ characters with no space, three of the four
    classes (lower, upper, digit, punctuation) with punctuation among them, not a stand-in.
    (`looks_random` reads `d9}-/)QB&J:6U` as a path; a typed password is no generated token.)"""
    if not 8 <= len(value) <= 128 or " " in value or is_placeholder(value):
        return False
    punct = sum(not c.isalnum() for c in value)
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + (punct > 0)
    )
    return punct > 0 and classes >= 3 and shannon(value) >= 2.8 and len(set(value)) * 2 > len(value)


def _in_string(text: str, start: int) -> bool:
    """An odd number of one quote kind before `start` on its line: inside a string literal
    (`"https://api.example.com/?apikey=HYZ..."`)."""
    line = text[text.rfind("\n", 0, start) + 1 : start]
    return line.count('"') % 2 == 1 or line.count("'") % 2 == 1 or line.count("`") % 2 == 1


# `access=KEY_WOW64_64KEY`: an upper-case constant's name, in code or in a manual's signature.
_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9]{1,15}(?:_[A-Z0-9]{1,15})+")


def _unquoted_reference(sep: str, value: str, code: bool) -> bool:
    """A value with no quote before it that is code, not a literal: the next argument of a call
    (`isinstance(key, i8_types)`, `author, height=79`), a numeric keyword argument, or, in a
    program's source, a name (`key_class = Ed25519Key`, `token: PSKeyword`, `x = mod.NAME`)."""
    if "," in sep or _NUMERIC_KWARG.fullmatch(value) or _CONSTANT_NAME.fullmatch(value):
        return True
    return code and _IDENTIFIER.fullmatch(value.rstrip(")]}")) is not None


def _code_around(text: str, start: int, value: str) -> bool:
    """The value is an expression, not a literal: a call (`b64encode(`), a subscript or generic
    (`Animation]`), an f-string conversion (`{name!r}`) or a machine-word integer (`0x5041434b`)."""
    after = text[start + len(value) : start + len(value) + 1]
    return (
        after in ("(", "[")
        or (value.endswith("]") and _IDENTIFIER.fullmatch(value.rstrip("]")) is not None)
        or value.endswith(("!r", "!s", "!a"))
        or _SHORT_HEX_INT.fullmatch(value) is not None
    )


# A value right after `=`, `:`, `,`, `(` or an opening quote, made of token characters only.
_CANDIDATE = re.compile(
    r"""(?:[=:,(]\s{0,3}\\?["'`]?|["'`])\s{0,2}(?P<val>[A-Za-z0-9+/=_\-.~]{16,200})"""
)
_SEGMENTS = re.compile(r"[\-_.=/:~+]+")
_HASHISH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}|[0-9A-F]{32,128}")
_NOT_SECRET_NAMES = (
    "sha",
    "hash",
    "md5",
    "digest",
    "checksum",
    "integrity",
    "commit",
    "rev",
    "uuid",
    "guid",
    "version",
    "etag",
    "nonce",
    "boundary",
    "serial",
    "fingerprint",
    "test",
    "example",
    "sample",
    "url",
    "path",
    "href",
    "pubkey",  # a public key is published by design
    "public_key",
    "publickey",
    "public-key",
)


_UUID_TAIL = re.compile(r"[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_VERSION_START = re.compile(r"v?\d{1,4}\.\d{1,4}(?:\.\d{1,5})?[\-+._]")
# `"id": "toolu_01D7..."`: an object's own id field holds an identifier, random but not secret.
# (Only the bare name: `client_id`, `sms_id` and the like hold credentials in many configs.)
_ID_KEY = re.compile(
    r"""(?<![\w\-.])["'`]?(?:id|Id|ID|uuid|guid)["'`]?\s{0,3}(?::|=|=>)\s{0,3}["'`]?$"""
)


def keyed_as_id(text: str, start: int) -> bool:
    """The value at `start` is what a field named `id` holds: an identifier."""
    line_start = text.rfind("\n", 0, start) + 1
    return _ID_KEY.search(text, max(line_start, start - 40), start) is not None


def _strictly_random(value: str) -> bool:
    """Without a keyword the value alone must convince: long, mixed, very high entropy.

    Every test must pass; the cheap ones (C-speed scans of the value) run first, so most
    candidates on a line with a long run are dropped before the per-character loops of
    `looks_random` (`redact` runs this on every line holding 12+ alphanumerics in a row)."""
    if len(value) < 16 or not any(c.isdigit() for c in value) or _HASHISH.fullmatch(value):
        return False
    longest = max(_SEGMENTS.split(value), key=len)
    if len(longest) < 12 or not any(c.isdigit() for c in longest):
        return False  # `name-with-words==1.2.0`: generated values have one long random run
    if sum(c.isalpha() for c in value) < len(value) // 3:
        return False
    if shannon(value) < (3.3 if len(value) < 20 else 3.6):
        return False
    if _VERSION_START.match(value):
        return False  # `5.10.81-android12-9-00001-geba40aecb3b7`: a build or kernel version
    if is_hex_constant(value) or is_alphabet(value) or is_data_blob(value):
        return False  # a digest or curve constant, a charset, an embedded image or font
    if is_mangled_name(value):
        return False  # `_ZN10__gnu_norm15_List_node_base4hookEPS0_`: a C++ symbol
    if _UUID_TAIL.search(value) and len(_UUID_TAIL.sub("", value)) <= 12:
        return False  # `element-6066-11e4-a52e-4f735466cecf`: a UUID with a word, an identifier
    if is_encoded_text(value):
        return False  # `VGhpcyBpcyB0aGUgd2F5`: base64 of prose
    if looks_like_name(value) or reads_as_name(value):
        return False  # `rust_openssl.x25519.X25519PublicKey`, `cspc850multilingual`
    return looks_random(value, 16, allow_uuid=False)


# Token runs, found once per text and shared by the shape detectors (this one and the rules with
# `anchor = "token-run"`): the text is mapped to one byte per character (`a` alphanumeric, `+`
# and `/`; `-` itself; `v` for `=_.~`; a space for anything else, non-ASCII included) so runs are
# found by regexes with a literal prefix, which the regex engine scans for at C speed, instead of a
# character class it must try at every position.
_VIEW = bytes(
    97
    if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/")
    else 45
    if chr(i) == "-"
    else 118
    if chr(i) in "=_.~"
    else 32
    for i in range(256)
)
_RUN12 = re.compile(b"a" * 11 + b"a+")
_A12 = b"a" * 12
_A24 = b"a" * 24
_NOT_A = re.compile(b"[^a]")
_UUID_VIEW = b"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
_DIGITS = b"0123456789"


class TokenRuns:
    """Where a text holds long runs of token characters, the only places a generated value fits.

    The spans are found with `bytes.find` of twelve `a`s, which skips ahead by whole words (a
    regex for the same run steps through every one of the view's dense `a`s); the 12- and
    24-runs inside them are then looked for in those spans only (~10 % of a source file)."""

    __slots__ = ("_spans", "ascii", "text", "view")

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.encode("ascii") if text.isascii() else text.encode("ascii", "replace")
        self.view = self.ascii.translate(_VIEW)
        self._spans: list[tuple[int, int]] | None = None

    def _span(self, start: int, end: int) -> tuple[int, int]:
        """The maximal run of value characters (`[A-Za-z0-9+/=_\\-.~]`) around [start, end)."""
        view = self.view
        stop = view.find(b" ", end)
        return view.rfind(b" ", 0, start) + 1, len(view) if stop < 0 else stop

    def spans(self) -> list[tuple[int, int]]:
        """Value spans holding 12+ alphanumerics (or `+`, `/`) in a row, in text order."""
        if self._spans is None:
            view = self.view
            find, rfind, size = view.find, view.rfind, len(view)
            out: list[tuple[int, int]] = []
            at = find(_A12)
            while at >= 0:
                stop = find(b" ", at + 12)
                stop = size if stop < 0 else stop
                out.append((rfind(b" ", 0, at) + 1, stop))
                at = find(_A12, stop)
            self._spans = out
        return self._spans

    def runs_text(self, lowered: str) -> str:
        """The lower-cased text of `spans()`, one per line: where token-run keywords can be."""
        return "\n".join([lowered[lo:hi] for lo, hi in self.spans()])

    def digit_runs(self) -> Iterator[tuple[int, int]]:
        """Value spans holding 12+ alphanumerics in a row, with a digit among them."""
        raw, view = self.ascii, self.view
        for lo, hi in self.spans():
            if len(raw[lo:hi].translate(None, _DIGITS)) == hi - lo:
                continue  # no digit anywhere in the span
            for m in _RUN12.finditer(view, lo, hi):
                chunk = raw[m.start() : m.end()]
                if len(chunk.translate(None, _DIGITS)) != len(chunk):
                    yield lo, hi
                    break

    def token_windows(self) -> list[tuple[int, int]]:
        """Value spans holding a 24+ token run right after `_`/`-`, or a UUID (prefix_ tokens)."""
        text, view = self.text, self.view
        starts = []
        for lo, hi in self.spans():  # every 24-run lies in a span: each maximal one, its start
            at = view.find(_A24, lo, hi)
            while at >= 0:
                if text[at - 1 : at] in "_-":
                    starts.append(at)
                end = _NOT_A.search(view, at + 24, hi)
                at = view.find(_A24, end.start(), hi) if end else -1
        at = view.find(_UUID_VIEW)
        while at >= 0:
            starts.append(at)
            at = view.find(_UUID_VIEW, at + len(_UUID_VIEW))
        out: list[tuple[int, int]] = []
        last = -1
        for start in sorted(starts):
            if start >= last:
                lo, hi = self._span(start, start + 1)
                out.append((lo, hi))
                last = hi
        return out


def find_context_free(
    text: str, runs: TokenRuns | None = None, *, code: bool = False
) -> Iterator[tuple[int, int, str]]:
    """Yield generated-looking values that are assigned or quoted, whatever the name.

    `code`: the text is a program's source, where a hex string under a plain name is a test
    vector, a cache key or a digest far more often than a service's key (masking passes False)."""
    runs = runs or TokenRuns(text)
    size = len(text)
    for lo, hi in runs.digit_runs():
        # the value sits in [lo, hi); what marks it as assigned or quoted is at most 8 chars before
        found = False
        for m in _CANDIDATE.finditer(text, max(0, lo - 8), min(size, hi + 1)):
            for hit in _context_free_hit(text, m, code):
                found = True
                yield hit
        if not found and not code:
            pair = _terse_pair(text, lo, hi)
            if pair is not None:
                found = True
                yield pair
        if not found:
            signed = _SIGNED_ID.fullmatch(text, lo, hi)
            if signed is not None and snowflake_token(signed.group()):
                yield lo, hi, signed.group()
            else:
                yield from _vendor_prefixed(text, lo, hi)


# A line that is a name and a value and nothing else (`healthchecks 2rhFf0YNFgOn91Mg...`): how
# notes, `.netrc`-style files and key lists write a credential down. Outside program sources
# only, and the value must convince on its own (`_strictly_random`), as with no name at all.
_TERSE_PAIR = re.compile(
    r"[ \t]*[A-Za-z][A-Za-z\-_]{1,30}[ \t]+(?P<val>[A-Za-z0-9+/=_\-.~]{16,200})[ \t\r]*"
)


def _holds_assignment(value: str) -> bool:
    """`NAME=<value>` read as one run: an assignment, since base64 has `=` only as padding."""
    return "=" in value.rstrip("=")


def _terse_pair(text: str, lo: int, hi: int) -> tuple[int, int, str] | None:
    # the line is short around the run: look no further than the name's and the spaces' reach
    # (a 1 MB line of runs stays linear)
    line_end = hi
    while line_end < len(text) and text[line_end] in " \t\r":
        line_end += 1
    if line_end < len(text) and text[line_end] != "\n":
        return None
    reach = max(0, lo - 40)
    line_start = text.rfind("\n", reach, lo) + 1
    if line_start == 0 and reach > 0:
        return None
    m = _TERSE_PAIR.fullmatch(text, line_start, line_end)
    if m is None or m.start("val") != lo:
        return None
    value = m.group("val").rstrip(_TRAIL + "-")
    if _holds_assignment(value):
        return None  # `ENV NAME=<uuid>`
    name = text[line_start : m.start("val")].lower()
    if any(word in name for word in _NOT_SECRET_NAMES) or not _strictly_random(value):
        return None
    return lo, lo + len(value), value


# Discord's documented bot-token form: base64 of the bot's numeric (snowflake) id, `.`, a
# base64 timestamp (4 bytes: 6 characters), `.`, an HMAC (27+ characters). Checked by decoding
# the id part to 17-20 ASCII digits, a structure no random or made-up value has by chance.
_SIGNED_ID = re.compile(r"[MNO][A-Za-z0-9_\-]{22,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}")


def snowflake_token(value: str) -> bool:
    """The first part of `value` is base64 of a 17-20 digit id (a Discord-style signed token)."""
    import base64
    import binascii

    head = value.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return 17 <= len(raw) <= 20 and raw.isdigit()


# A vendor prefix (2-8 letters or digits, starting with a letter), a separator and a generated
# body: `SG.<22>.<43>`, `hvb.AAAA...`, `sgp_<16>_<40>`. Read anywhere, with no name or `=`
# before it: the prefix is the context. The body must pass the same test as a value with none.
_VENDOR = re.compile(r"[A-Za-z][A-Za-z0-9]{1,7}[_\-.](?=[A-Za-z0-9+/_\-.=~]{24,})")


_HEX_BODY = re.compile(r"[0-9a-f]{8,}(?:[_\-][0-9a-f]{8,})*")
# Prefixes that name a digest or a revision, not a vendor: what follows is a hash.
_HEX_NAMES = {"sha_", "sha-", "md5_", "md5-", "git-", "git_", "rev-", "rev_", "hash_", "hash-",
              "commit_", "commit-", "build-", "build_", "blob-", "tree-", "id_", "id-"}  # fmt: skip


def _vendor_prefixed(text: str, lo: int, hi: int) -> Iterator[tuple[int, int, str]]:
    m = _VENDOR.match(text, lo, hi)
    if m is None or text[lo - 1 : lo] in ("@", "%", "$", "\\"):
        return
    value = text[lo:hi].rstrip(_TRAIL + "-=")
    if _holds_assignment(value):
        return  # `ZOOM_PROJECT_ID=<uuid>`
    prefix = m.group().lower()
    if prefix.startswith(("sha", "md5", "v1", "v2", "xn-", "www")) or len(value) < 24:
        return
    body = value[m.end() - lo :]
    if _HEX_BODY.fullmatch(body) and m.group()[:-1].isalpha():
        if not looks_random(max(_SEGMENTS.split(body), key=len), 32) or prefix in _HEX_NAMES:
            return  # `sgp_<16 hex>_<40 hex>`: a vendor's hex token; a digest has no vendor prefix
    elif not _strictly_random(value) or not _strictly_random(body):
        return
    line_start = text.rfind("\n", 0, lo) + 1
    before = text[max(line_start, lo - 80) : lo].lower()
    if any(word in before for word in _NOT_SECRET_NAMES) or keyed_as_id(text, lo):
        return
    yield lo, lo + len(value), value


# A key of a digest's length (128, 160 or 256 bits in hex: the `_HASHISH` shapes that
# `_strictly_random` turns away) is, without a name, a digest. Under a name of its own
# (`cloudsmith: "6fd0..."`, `"app_id": "763c..."`) it is what many services issue as an API key;
# the names a digest goes by are excluded where every value is (`_NOT_SECRET_NAMES`).
# Its entropy must reach the hex floor of its width (`small_alphabet_floor`): a key below it is a
# pattern (`deadbeef...`, `0123...`), not a draw.
_KEY_HEX_WIDTHS = (32, 40, 64)
_DIGEST_NEARBY = re.compile(r"(?i)sha-?\d|md5|blake|digest|checksum|hash|\balg\b")


def named_as_digest(text: str, at: int, reach: int) -> bool:
    """A digest's name (`sha256=`, `md5`, `checksum`, ...) in the `reach` characters before
    `at`: what follows is a digest, whatever its shape."""
    return _DIGEST_NEARBY.search(text, max(0, at - reach), at) is not None


_NAME_BEFORE = re.compile(r"""[A-Za-z_][\w.\-]{1,60}["'`]?[ \t]{0,3}$""")


def _named_key_hex(text: str, m: re.Match[str], value: str) -> bool:
    """`value` is a random hex key that a name is given (`name: "hex"`, `NAME=hex`)."""
    if m.group()[0] not in "=:" or len(value) not in _KEY_HEX_WIDTHS or value.isdigit():
        return False
    if _HASHISH.fullmatch(value) is None:
        return False
    line_start = text.rfind("\n", 0, m.start()) + 1
    if _NAME_BEFORE.search(text, max(line_start, m.start() - 64), m.start()) is None:
        return False
    if _DIGEST_NEARBY.search(text, max(0, m.start() - 160), m.start()):
        return False  # `"alg": "SHA-256", "content": "<hex>"` (an SBOM): a digest's record
    floor = small_alphabet_floor(value)  # hex of a key's width: always has a floor
    return floor is not None and shannon(value) >= floor and looks_random(value, 32)


# `name=` inside a value, or a Subresource Integrity hash's algorithm (`sha384-<base64>`, W3C SRI)
_INNER_NAME = re.compile(r"[A-Za-z][\w\-]{0,30}=(?!=)|sha(?:256|384|512)-")


def _context_free_hit(text: str, m: re.Match[str], code: bool) -> Iterator[tuple[int, int, str]]:
    value = m.group("val").rstrip(_TRAIL + "-")
    start = m.start("val")
    inner = _INNER_NAME.match(value)
    if inner is not None:  # `,sha256=<digest>,` (a wheel's RECORD): the value after its own name
        start += inner.end()
        value = value[inner.end() :]
    if len(value) < 16:
        return
    named_hex = inner is None and not code and _named_key_hex(text, m, value)
    if not (named_hex or _strictly_random(value)):
        return
    end = start + len(value)
    if text[end : end + 4].lstrip("\"'` ").startswith("+") or text[
        max(0, m.start() - 3) : m.start()
    ].rstrip().endswith("+"):
        return  # "ghp_" + "..." : split on purpose, a test fixture built at run time
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 80) : start].lower()
    if any(word in before for word in _NOT_SECRET_NAMES) or keyed_as_id(text, start):
        return
    if in_encoded_block(text, start):
        return
    yield start, end, value


_B64_LINE = re.compile(
    r"""[ \t]*[bru]{0,2}["']?([A-Za-z0-9+/]{4,}={0,2})["']?[ \t]*[,+\\)]?[ \t]*"""
)


def _b64_width(text: str, start: int, end: int, least: int = 40) -> int:
    """Width of the line [start, end) when it is nothing but a run of base64 (quoted or not)
    of at least `least` characters."""
    m = _B64_LINE.fullmatch(text, start, end)
    return len(m.group(1)) if m and len(m.group(1)) >= least else 0


def in_encoded_block(text: str, at: int) -> bool:
    """The line at `at` is one of several consecutive lines of pure base64 of one width (the
    last may be shorter), with no PEM header: an encoded file or image, not a credential."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    width = _b64_width(text, start, end, least=4)
    if not width:
        return False
    if start > 1:
        p_start = text.rfind("\n", 0, start - 1) + 1
        prev = _b64_width(text, p_start, start - 1)
        if prev == width or (prev > width and end == len(text)):
            return not _pem_before(text, p_start)
        if prev > width:  # the block's short last line
            return not _pem_before(text, p_start)
    if end < len(text):
        n_end = text.find("\n", end + 1)
        n_end = len(text) if n_end < 0 else n_end
        nxt = _b64_width(text, end + 1, n_end)
        if width >= 40 and nxt and nxt <= width:
            return not _pem_before(text, start)
    return False


def _pem_before(text: str, at: int) -> bool:
    """A `-----BEGIN ...-----` header within the 64 lines before `at`."""
    return text.rfind("-----BEGIN", max(0, at - 64 * 80), at) >= 0


# Library code is full of long names that pass an entropy test: `ASAuthorizationAppleIDButton`,
# `manylinux2010_compatible`, `MDLAnimatedVector3`, MIME types. Split into words at
# case changes, digits and separators, such a name is made of pronounceable words, short acronyms
# and short numbers; a generated value has consonant clusters, long or many digit runs.
_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+")
_CONSONANTS4 = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{4}")
# clusters of everyday words in names: `aiohttp`, `xhtml`, `lengths`, `strengths`
_WORD_CLUSTERS = re.compile(r"https?|x?html|ngths?")


def looks_like_name(value: str) -> bool:
    """True for identifiers, dotted/slashed names, MIME types and IDN labels made of words."""
    if value[:4].lower() == "xn--":
        return True  # punycode domain label
    words = digits = noise = 0
    for part in _PARTS.findall(value):
        first = part[0]
        if first.isdigit():
            digits += 1
            if len(part) > 4 or digits > 2:
                return False
        elif first.isalpha():
            if part.isupper() and len(part) > 1:
                if len(part) > 6:
                    return False  # acronyms are short
            elif len(part) >= 3:
                low = part.lower()
                clusters = _CONSONANTS4.search(low) and _CONSONANTS4.search(
                    _WORD_CLUSTERS.sub("a", low)
                )
                if not any(c in "aeiou" for c in low) or clusters or len(part) > 14:
                    return False
                words += 1
            elif len(part) == 2 or part.islower():
                noise += 1  # `Vx`, `a`: random text is full of these, names have few
                if noise > 1:
                    return False
    return words >= 2
