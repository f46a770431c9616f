"""The Python peer for the encrypted-session tests in tests/interop_microdot.rs: a Microdot
app that reads and writes jwt-session's encrypted cookie with jwcrypto, using the README's
snippet (the block between the markers, which a test checks the README shows verbatim).

Usage: python jwe_app.py PORT SECRET
"""
import sys

from microdot import Microdot, Response

# --- README snippet start
import base64
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto import jwe, jwk


def session_key(secret: str) -> jwk.JWK:
    """The AES-256-GCM key jwt-session derives from SESSION_SECRET."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"jwt-session A256GCM").derive(secret.encode())
    return jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(key).rstrip(b"=").decode())


def read_session(cookie: str, secret: str) -> dict:
    """The session in a jwt-session encrypted cookie, or {} if it is not valid."""
    token = jwe.JWE()
    token.allowed_algs = ["dir", "A256GCM"]
    try:
        token.deserialize(cookie, key=session_key(secret))
        claims = json.loads(token.payload)
    except Exception:
        return {}
    # jwt-session writes `exp` when the app sets a lifetime; honour it as it does.
    exp = claims.get("exp", float("inf")) if isinstance(claims, dict) else None
    if not isinstance(exp, (int, float)) or exp <= time.time():
        return {}
    return claims


def write_session(session: dict, secret: str) -> str:
    """A cookie value jwt-session's `Session::new(secret).encrypted()` reads."""
    plaintext = json.dumps(session, separators=(",", ":")).encode()
    token = jwe.JWE(plaintext, protected={"alg": "dir", "enc": "A256GCM"})
    token.add_recipient(session_key(secret))
    return token.serialize(compact=True)
# --- README snippet end


SECRET = sys.argv[2]
app = Microdot()


@app.get('/session')
async def read(req):
    return {'session': read_session(req.cookies.get('session', ''), SECRET)}


@app.post('/session')
async def replace(req):
    res = Response({'saved': True})
    res.set_cookie('session', write_session(req.json, SECRET), path='/', http_only=True)
    return res


app.run(host='127.0.0.1', port=int(sys.argv[1]))
