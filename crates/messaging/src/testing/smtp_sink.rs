//! A small SMTP server on loopback that records the messages it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::{MessageParser, MimeHeaders};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::{SmtpConfig, TlsMode};

/// The longest line the sink reads (RFC 5321 allows 1000 octets; leave room for sloppy clients).
const MAX_LINE: usize = 64 * 1024;
/// The largest message the sink accepts.
const MAX_MESSAGE: usize = 32 * 1024 * 1024;

/// How the sink answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpBehaviour {
    /// 250 to everything; messages are kept.
    Accept,
    /// Answer every RCPT TO with this code (e.g. 550 permanent, 450 transient), quoting the address in
    /// the reply text as real servers do.
    RejectRecipients(u16),
    /// Take the whole message, then answer the end of DATA with this code; the message is not kept.
    RejectData(u16),
    /// Keep the message, then close the connection without answering the end of DATA: the client
    /// sees a failure for a message the server has (the classic cause of a duplicate on retry).
    DisconnectAfterData,
}

/// A message the sink kept: the envelope and the message as received, dot-unstuffed, CRLF line ends,
/// without the terminating `.` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedEmail {
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
    /// The `Message-ID` header with its angle brackets (compare with [`crate::email_message_id`]).
    pub message_id: Option<String>,
    /// The user that authenticated with AUTH PLAIN on this connection, if any.
    pub auth_user: Option<String>,
    /// Whether the client was told 250 (false for [`SmtpBehaviour::DisconnectAfterData`]).
    pub acknowledged: bool,
}

impl ReceivedEmail {
    /// The message decoded by `mail-parser` (transfer encodings undone, parts split).
    pub fn decoded(&self) -> DecodedEmail {
        let message = MessageParser::default().parse(&self.data).expect("the sink received a parseable message");
        let addresses = |address: Option<&mail_parser::Address>| {
            address
                .map(|address| address.iter().filter_map(|addr| addr.address()).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        DecodedEmail {
            from: addresses(message.from()),
            to: addresses(message.to()),
            subject: message.subject().map(str::to_owned),
            message_id: message.message_id().map(|id| format!("<{id}>")),
            text_body: message
                .text_bodies()
                .find(|part| part.is_text() && !part.is_text_html())
                .and_then(|part| part.text_contents())
                .map(str::to_owned),
            html_body: message
                .html_bodies()
                .find(|part| part.is_text_html())
                .and_then(|part| part.text_contents())
                .map(str::to_owned),
            attachments: message
                .attachments()
                .map(|part| ReceivedAttachment {
                    filename: part.attachment_name().map(str::to_owned),
                    content_type: part.content_type().map(|content_type| match content_type.subtype() {
                        Some(subtype) => format!("{}/{}", content_type.ctype(), subtype),
                        None => content_type.ctype().to_owned(),
                    }),
                    bytes: part.contents().to_vec(),
                })
                .collect(),
            raw_headers: message.headers_raw().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
        }
    }
}

/// A received message, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedEmail {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub attachments: Vec<ReceivedAttachment>,
    /// Every header as sent (name, raw value).
    pub raw_headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAttachment {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
struct State {
    behaviour: SmtpBehaviour,
    credentials: Option<(String, String)>,
    received: Vec<ReceivedEmail>,
    rejected: usize,
    connections: usize,
}

/// An SMTP server on `127.0.0.1` that keeps what it receives. Stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port, accepting everything.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            behaviour: SmtpBehaviour::Accept,
            credentials: None,
            received: Vec::new(),
            rejected: 0,
            connections: 0,
        }));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        SmtpSink { address, state, task }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// A transport configuration for this sink: plain SMTP on loopback, a 5-second timeout.
    pub fn config(&self, from: &str) -> SmtpConfig {
        SmtpConfig {
            host: self.address.ip().to_string(),
            port: self.address.port(),
            tls: TlsMode::None,
            credentials: None,
            from: from.to_owned(),
            timeout: Duration::from_secs(5),
            hello_name: None,
        }
    }

    pub fn set_behaviour(&self, behaviour: SmtpBehaviour) {
        self.lock().behaviour = behaviour;
    }

    /// Require AUTH PLAIN with these credentials before MAIL FROM (530 otherwise, 535 if wrong).
    pub fn require_credentials(&self, username: &str, password: &str) {
        self.lock().credentials = Some((username.to_owned(), password.to_owned()));
    }

    /// Every message kept, in arrival order.
    pub fn received(&self) -> Vec<ReceivedEmail> {
        self.lock().received.clone()
    }

    /// How many kept messages carry this Message-ID (with angle brackets).
    pub fn count_with_message_id(&self, message_id: &str) -> usize {
        self.lock().received.iter().filter(|email| email.message_id.as_deref() == Some(message_id)).count()
    }

    /// Message-IDs kept more than once, with their counts: empty when every message arrived once.
    pub fn duplicates(&self) -> Vec<(String, usize)> {
        let state = self.lock();
        super::duplicates(state.received.iter().filter_map(|email| email.message_id.as_deref()))
    }

    /// Messages refused at the end of DATA ([`SmtpBehaviour::RejectData`]).
    pub fn rejected(&self) -> usize {
        self.lock().rejected
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("sink state")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    // Connection tasks live in the set, so aborting this task (dropping the set) ends them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                state.lock().expect("sink state").connections += 1;
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    // A client that goes away mid-conversation is not the sink's problem.
                    let _ = serve(stream, state).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

struct Session {
    mail_from: Option<String>,
    recipients: Vec<String>,
    auth_user: Option<String>,
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 concord-sink ESMTP ready\r\n").await?;
    let mut session = Session { mail_from: None, recipients: Vec::new(), auth_user: None };
    while let Some(line) = read_line(&mut reader).await? {
        let line = String::from_utf8_lossy(&line).into_owned();
        let (verb, argument) = line.split_once(' ').unwrap_or((&line, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                "250-concord-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN\r\n250 SIZE 33554432".to_owned()
            }
            "HELO" => "250 concord-sink".to_owned(),
            "NOOP" => "250 2.0.0 OK".to_owned(),
            "RSET" => {
                session.mail_from = None;
                session.recipients.clear();
                "250 2.0.0 OK".to_owned()
            }
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            "AUTH" => authenticate(argument, &mut reader, &mut write, &state, &mut session).await?,
            "MAIL" => {
                let required = state.lock().expect("sink state").credentials.is_some();
                match path_argument(argument, "FROM:") {
                    _ if required && session.auth_user.is_none() => "530 5.7.0 Authentication required".to_owned(),
                    Some(from) => {
                        session.mail_from = Some(from);
                        session.recipients.clear();
                        "250 2.1.0 OK".to_owned()
                    }
                    None => "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned(),
                }
            }
            "RCPT" => match (path_argument(argument, "TO:"), &session.mail_from) {
                (_, None) => "503 5.5.1 MAIL first".to_owned(),
                (None, _) => "501 5.5.4 Syntax: RCPT TO:<address>".to_owned(),
                (Some(to), Some(_)) => match state.lock().expect("sink state").behaviour {
                    SmtpBehaviour::RejectRecipients(code) => {
                        format!("{code} {}.1.1 <{to}>: Recipient address rejected", code / 100)
                    }
                    _ => {
                        session.recipients.push(to);
                        "250 2.1.5 OK".to_owned()
                    }
                },
            },
            "DATA" => {
                if session.recipients.is_empty() {
                    "503 5.5.1 RCPT first".to_owned()
                } else {
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let Some(data) = read_data(&mut reader).await? else { return Ok(()) };
                    match take_message(&state, &mut session, data) {
                        Some(reply) => reply,
                        None => return Ok(()),
                    }
                }
            }
            "STARTTLS" => "454 4.7.0 TLS not available".to_owned(),
            "VRFY" => "252 2.0.0 Cannot VRFY".to_owned(),
            _ => "502 5.5.2 Command not recognised".to_owned(),
        };
        // One write per reply: a reply split over two writes waits on Nagle and delayed ACKs.
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

/// Records (or refuses) a complete message. `None` means: close the connection without a reply.
fn take_message(state: &Mutex<State>, session: &mut Session, data: Vec<u8>) -> Option<String> {
    let mut state = state.lock().expect("sink state");
    let behaviour = state.behaviour;
    let mail_from = session.mail_from.take().unwrap_or_default();
    let recipients = std::mem::take(&mut session.recipients);
    if let SmtpBehaviour::RejectData(code) = behaviour {
        state.rejected += 1;
        return Some(format!("{code} {}.6.0 Message refused", code / 100));
    }
    let message_id =
        MessageParser::default().parse_headers(&data).and_then(|m| m.message_id().map(|id| format!("<{id}>")));
    let acknowledged = behaviour != SmtpBehaviour::DisconnectAfterData;
    state.received.push(ReceivedEmail {
        mail_from,
        recipients,
        data,
        message_id,
        auth_user: session.auth_user.clone(),
        acknowledged,
    });
    let queue_id = state.received.len();
    acknowledged.then(|| format!("250 2.0.0 Ok: queued as SINK{queue_id:06}"))
}

/// AUTH PLAIN, with the initial response inline or after a `334` challenge.
async fn authenticate(
    argument: &str,
    reader: &mut BufReader<OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    state: &Mutex<State>,
    session: &mut Session,
) -> std::io::Result<String> {
    let (mechanism, initial) = argument.split_once(' ').unwrap_or((argument, ""));
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Ok("504 5.5.4 Unrecognised authentication type".to_owned());
    }
    let response = if initial.is_empty() {
        write.write_all(b"334 \r\n").await?;
        match read_line(reader).await? {
            Some(line) => String::from_utf8_lossy(&line).into_owned(),
            None => return Ok(String::new()),
        }
    } else {
        initial.to_owned()
    };
    let decoded = STANDARD.decode(response.trim()).unwrap_or_default();
    let mut fields = decoded.split(|byte| *byte == 0).map(|field| String::from_utf8_lossy(field).into_owned());
    let (_authzid, user, password) = (fields.next(), fields.next(), fields.next());
    let (Some(user), Some(password)) = (user, password) else {
        return Ok("501 5.5.2 Cannot decode AUTH PLAIN response".to_owned());
    };
    let expected = state.lock().expect("sink state").credentials.clone();
    if expected.is_none_or(|(expected_user, expected_password)| expected_user == user && expected_password == password)
    {
        session.auth_user = Some(user);
        Ok("235 2.7.0 Authentication successful".to_owned())
    } else {
        Ok("535 5.7.8 Authentication credentials invalid".to_owned())
    }
}

/// `FROM:<a@b> SIZE=1` → `a@b`.
fn path_argument(argument: &str, keyword: &str) -> Option<String> {
    let rest = argument
        .get(..keyword.len())
        .filter(|head| head.eq_ignore_ascii_case(keyword))
        .map(|_| &argument[keyword.len()..])?;
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('<')?.split_once('>')?.0;
    Some(inner.to_owned())
}

/// One line without its line ending; `None` at end of stream.
async fn read_line(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = (&mut *reader).take(MAX_LINE as u64).read_until(b'\n', &mut line).await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long or cut off"));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// The DATA section up to the `.` line, dot-unstuffed (RFC 5321 §4.5.2), lines joined with CRLF.
async fn read_data(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let Some(line) = read_line(reader).await? else { return Ok(None) };
        if line == b"." {
            return Ok(Some(data));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + line.len() > MAX_MESSAGE {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "message too large"));
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_arguments_are_read_with_parameters_and_any_case() {
        assert_eq!(path_argument("FROM:<a@b.org> SIZE=10", "FROM:"), Some("a@b.org".to_owned()));
        assert_eq!(path_argument("to: <c@d.org>", "TO:"), Some("c@d.org".to_owned()));
        assert_eq!(path_argument("FROM:<>", "FROM:"), Some(String::new()));
        assert_eq!(path_argument("FROM:a@b.org", "FROM:"), None);
        assert_eq!(path_argument("", "TO:"), None);
    }
}
