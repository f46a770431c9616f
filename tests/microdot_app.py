"""The real peer for tests/interop_microdot.rs: a Microdot app using its session extension.

Usage: python microdot_app.py PORT SECRET
"""
import sys

from microdot import Microdot
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


app.run(host='127.0.0.1', port=int(sys.argv[1]))
