"""placeholder"""

def scan_js(text, path):
    return []
