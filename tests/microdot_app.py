"""The real peer for tests/interop_microdot.rs: a Microdot app using its session extension,
and its login extension set up as in Microdot's examples/login/login.py.

Usage: python microdot_app.py PORT SECRET [REDIS_PORT]

With MICRODOT_TIMEOUTS=IDLE,ABSOLUTE (seconds), the session is docs/microdot.md's
TimedSession recipe (tests/microdot_timed_session.py), as the Rust `user_login` example's
timeouts need.
"""
import hmac
import os
import secrets
import socket
import sys
import time

from microdot import Microdot, redirect
from microdot.login import Login
from microdot.session import Session, with_session

app = Microdot()
if os.environ.get('MICRODOT_TIMEOUTS'):
    from microdot_timed_session import TimedSession
    idle, absolute = map(int, os.environ['MICRODOT_TIMEOUTS'].split(','))
    TimedSession(app, idle=idle, absolute=absolute, secret_key=sys.argv[2])
else:
    Session(app, secret_key=sys.argv[2])


@app.get('/session')
@with_session
async def read(req, session):
    return {'session': dict(session)}


@app.post('/session')
@with_session
async def replace(req, session):
    session.clear()
    session.update(req.json)
    session.save()
    return {'saved': True}


@app.post('/delete')
@with_session
async def delete(req, session):
    session.delete()
    return {'deleted': True}


def redis_get(key):
    """`redis.Redis(port=REDIS_PORT).get(key)`, with the stdlib: the venv stays pinned."""
    with socket.create_connection(('127.0.0.1', int(sys.argv[3])), timeout=2) as sock:
        raw = key.encode()
        sock.sendall(b'*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n' % (len(raw), raw))
        reply = b''
        while True:
            reply += sock.recv(4096)
            head, found, rest = reply.partition(b'\r\n')
            if not found:
                continue
            if head == b'$-1':
                return None
            if len(rest) >= int(head[1:]) + 2:
                return rest[:int(head[1:])]


@app.post('/store-login')
@with_session
async def store_login(req, session):
    """A login under jwt-session's RedisStore, as the README's Python recipe does it;
    `clock_offset_ms` plays a host whose clock is off."""
    user = req.json['user']
    now_ms = time.time_ns() // 1_000_000 + req.json.get('clock_offset_ms', 0)
    session.clear()
    session['user'] = user
    session['jti'] = secrets.token_urlsafe(16)
    session['jti_ms'] = now_ms
    session['jti_gen'] = int(redis_get(f'jwt-session:u:{user}') or 0)
    session['exp'] = now_ms // 1000 + 600
    session.save()
    return {'saved': True}


class User:
    def __init__(self, id, username, password):
        self.id = id
        self.username = username
        # A test peer: the Rust example stores real password hashes.
        self.password = password


USERS = {
    'user001': User('user001', 'susan', 'hello'),
    'user002': User('user002', 'david', 'bye'),
}
login = Login()


@login.user_loader
async def get_user(user_id):
    return USERS.get(user_id)


@app.post('/login')
async def log_in(req):
    for user in USERS.values():
        if user.username == req.form.get('username') and hmac.compare_digest(
                user.password, req.form.get('password', '')):
            return await login.login_user(
                req, user, remember=bool(req.form.get('remember_me')))
    return redirect('/login')


@app.get('/')
@login
async def index(req):
    return {'user': req.g.current_user.username}


@app.get('/fresh')
@login.fresh
async def fresh(req):
    return {'user': req.g.current_user.username, 'fresh': True}


@app.post('/logout')
@login
async def log_out(req):
    await login.logout_user(req)
    return redirect('/')


app.run(host='127.0.0.1', port=int(sys.argv[1]))
