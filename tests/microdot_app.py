"""The real peer for tests/interop_microdot.rs: a Microdot app using its session extension,
and its login extension set up as in Microdot's examples/login/login.py.

Usage: python microdot_app.py PORT SECRET
"""
import hmac
import sys

from microdot import Microdot, redirect
from microdot.login import Login
from microdot.session import Session, with_session

app = Microdot()
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
