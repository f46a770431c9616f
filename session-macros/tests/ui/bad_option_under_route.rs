// A wrong option is one error: the handler is still expanded (with the default options),
// so the route macro above it sees a valid handler and adds no error of its own.
use jwt_session::{SessionDict, SessionError, with_session};

#[actix_web::get("/")]
#[with_session(autosave = true)]
async fn index(mut session: SessionDict) -> Result<String, SessionError> {
    session.insert("visits", 1)?;
    session.save()?;
    Ok(session.len().to_string())
}

fn main() {
    let _ = actix_web::App::new().service(index);
}
