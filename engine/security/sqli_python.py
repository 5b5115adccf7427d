"""placeholder"""

def scan_python(text, path):
    return []
