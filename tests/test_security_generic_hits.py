"""The keyword = value detector's keyword passes give the same hits as one trie regex."""

import re

from engine.security.generic import keyword_hits
from engine.security.keywords import trie as _trie
from engine.security.rules import default_rules


def test_keyword_hits_match_trie_finditer():
    keywords = default_rules().generic_keywords
    rx = re.compile(_trie(set(keywords)))
    samples = [
        "credential cred credentials",
        "api_keykey xapi-keyapikey apikey",
        "passwpwd tokenkey kkey auth_token",
        "stripe_api_key = 'sk_x'; bearer signature salt private access secret",
        "",
        "k" * 5 + "ey",
    ]
    for text in samples:
        assert keyword_hits(text, keywords) == [m.span() for m in rx.finditer(text)]
