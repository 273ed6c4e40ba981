"""The remote servers' own words, as evidence of a reason (pure data, read by
:func:`syndication.core.bounce_reasons.from_phrase`).

Each entry is the general form of wording seen in real reports from many systems (studied
on Sisimai's public corpus and the MTAs' sources), not one system's sentence. Order
matters: the first match decides. Size and quota come first (a full mailbox is often
"rejected"), then what is about us (spam, block lists, authentication, rate: "550 5.1.1 …
blacklisted" is about our IP), then the address itself, then transport trouble.
"""

from __future__ import annotations

import re


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


# Reasons are named as in bounce_reasons.REASONS (a test checks each one).
# Phrases in the remote server's reply, tried in this order; the first that matches
# decides. Size and quota come first (a full mailbox is often "rejected"), then what is
# about us (spam, block lists, authentication, rate: "550 5.1.1 … blacklisted" is about
# our IP), then the address itself, then transport trouble. Each is the general form of
# wording seen in real reports from many systems, not one system's sentence.
PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "mesgtoobig",
        _rx(
            r"message (size|length|file)\b.{0,40}\b(exceed|too (big|large)|limit)",
            r"message (is )?too (big|large)",
            # "Mailbox size limit exceeded" is the mailbox's quota (mailboxfull), not ours.
            r"(?<!mailbox )(?<!mail box )(size|line) limit (exceeded|atteinte)",
            r"exceed\w* (the )?max(imum)? (inbound )?message size",
            r"max(imum)? message size exceeded",
            r"taille limite",
        ),
    ),
    (
        "exceedlimit",
        _rx(r"header size exceeds", r"exceeds? (the )?(receiving|administrative) limit"),
    ),
    (
        "mailboxfull",
        _rx(
            r"(mail ?box|mail ?folder|maildir|inbox|account|user|recipient)\b.{0,40}"
            r"\b(is |was |has been )?(full|over ?(the )?quota|exceed\w* (its |the )?"
            r"(storage|quota|disk|size))",
            r"\bquota\b.{0,30}\b(exceed|full|reached|violation|usage)",
            r"mail ?box (size )?limit (exceeded|reached)",
            r"(over|exceeded?|exceeding) (the |its |their |your )?(allowed |mailbox |disk |"
            r"storage )?quota",
            r"(disk|storage|space) (quota|allocation)",
            r"insufficient (disk|system)? ?(space|storage)",
            r"not (enough|sufficient) (storage |disk )?space",
            r"no space left",
            r"space has been used up|too many messages on the server",
            r"full mailbox|mailbox full|bo[iî]te (du destinataire )?pleine",
            r"too much mail data",
            r"postfach voll|ящик переполнен",
            r"exceeds? (the )?allowed size|exceeded the local limit",
        ),
    ),
    (
        "toomanyconn",
        _rx(
            r"too many (connections|concurrent|smtp sessions|errors from your ip)",
            r"frequency limit",
            r"connection (rate )?limit",
            r"max(imum)? (emails|messages|connections) per (hour|minute|day)",
            r"trop de connexions",
            r"too many recipients",
            r"(sending|daily message) (rate|quota) exceeded",
        ),
    ),
    (
        "speeding",
        _rx(
            r"rate[- ]?limit",
            r"try again slower|sending too fast|too fast",
            r"receiving mail at a rate",
            r"deferred due to unexpected volume",
        ),
    ),
    (
        "spamdetected",
        _rx(
            r"\bspam(?!haus|cop)",
            r"unsolicited|bulk ?(e-?mail|advertising)",
            r"content (filter|rejected|denied)|message filtered|mail content denied",
            r"rejected (due to|because of) (suspected )?(spam|unacceptable)",
            r"virus (detected|found)|(infected|contains?) (with )?a? ?virus|malware|phishing|"
            r"malicious",
            r"blacklisted url|listed in .*drbl",
        ),
    ),
    (
        "securityerror",
        _rx(
            r"\bspf\b|sender policy framework|\bdkim\b|\bdmarc\b",
            r"authenticat\w* (fail|requir|credential|invalid)|unauthenticated",
            r"not authori[sz]ed|authentication is required",
            r"starttls|tls required|does not support tls|encryption (needed|required)",
            r"reverse dns|\bptr\b|rdns|ip name lookup failed|cannot find your hostname",
            r"is not allowed to send (mail )?from",
        ),
    ),
    (
        "blocked",
        _rx(
            r"black ?list|block ?list|blocked using|deny ?list|\brbl\b|dnsbl|spamhaus|blocked ip|"
            r"spamcop|barracuda",
            r"\b(ip|client|sending (host|server|mta)|your (host|server|network|domain|mail "
            r"server)|network|connecting (host|ip))\b.{0,40}\b(is )?(listed|blocked|banned|"
            r"rejected|not allowed|refused)",
            r"client host .{0,60}rejected|helo command rejected",
            r"reputation",
            r"dynamic ip|residential|zombie|open proxy",
            r"(was )?blocked (by|for|-)|access denied.{0,20}\bip\b",
            r"not (currently )?accepting (mail|connections) from (your|this)",
            r"service not available|closing transmission channel|go away",
            # The remote dropping a session it had accepted. "Connection refused" is not
            # here: it is the sending system's own connect() error (ECONNREFUSED, no
            # listener on port 25), a network fact, not the remote's words about us.
            r"connection (reset|dropped)",
        ),
    ),
    (
        "policyviolation",
        _rx(
            r"polic(y|ies)",
            r"members-only|non-member|not subscribed to this group|closed mailing list",
            r"protocol violation",
            r"organi[sz]ational settings|illegal attachment",
        ),
    ),
    (
        "rejected",
        _rx(
            r"sender\b.{0,40}\b(rejected|denied|blacklisted|refused|not allowed|invalid|"
            r"unknown|not (pre-)?approved|verif\w* fail)",
            r"(invalid|bogus|unroutable|empty) (envelope )?(sender|mail from)",
            r"domain of sender|from: domain is invalid|null sender|empty envelope senders",
            r"relay(ing)? (access )?(denied|not permitted|prohibited)|no relaying|"
            r"not (permitted|allowed) to relay|unable to relay|as a relay|open relay",
            r"administrative prohibition|batv|backscatter|no third-party dsns",
            r"this server does not accept mail from|not allowed to post",
            # A relay refusing our own sender identity (Amazon SES: "Email address is not
            # verified. The following identities failed the check").
            r"address is not verified|identities failed the check",
            r"command (parameter )?not implemented|(improper|bad) sequence of commands",
        ),
    ),
    ("hasmoved", _rx(r"has been replaced by|has moved|no forwarding address")),
    (
        "suspend",
        _rx(
            r"\bsuspended\b|deactivated|frozen|temporar\w* (locked|inactive|disabled)",
            r"(account|mailbox|user|address)\b.{0,30}\b(is |has been )?(disabled|inactive|"
            r"locked|discontinued|terminated)",
            r"inactive (account|user|mailbox)|archived recipient|no longer accepts mail",
        ),
    ),
    (
        "filtered",
        _rx(
            r"refuses? to (receive|accept)|user reject|recipient preferences",
            r"only accepting mail from|blocked by the recipient|user rules",
            r"is not accepting any mail",
        ),
    ),
    (
        "hostunknown",
        _rx(
            r"(host|domain)( name)? (or domain name )?(is )?(not found|unknown|does not "
            r"exist|must exist)",
            r"no such (domain|host)|unknown (host|domain)|unrout(e)?able (address|mail domain)",
            r"name or service not known|no mx record|null ?mx|does not accept mail",
            # Exim on a null MX (RFC 7505): "an MX or SRV record indicated no SMTP service".
            r"indicated no smtp service",
            r"mail domain .{0,30}unknown",
            # DragonFly DMA (net.c): "DNS lookup failure: host example.net not found".
            r"dns lookup failure: host \S+ not found",
        ),
    ),
    (
        "userunknown",
        _rx(
            r"(user|mailbox|recipient|address|account|addressee|person|destination)"
            r"( name)?( address)?\b.{0,20}\b(is )?(unknown|not (found|known|valid|local|"
            r"present|exist)|does ?n[o']t exist|doesn't exist|invalid|unavailable|"
            r"no longer (valid|exists?))",
            # Written with spaces, or as one token ("BAD_RECIPIENT", "no mail box").
            r"(no[ _]such|unknown|invalid|bad|non-?existent)[ _](local[ _])?(user|mail ?box|"
            r"recipient|address|account|person)",
            r"does not exist|doesn't exist|not exist|no mail ?box|no account by that name",
            r"no one at this address|no such person|badrcptto|validrcptto|"
            r"not (a )?(valid|known) (user|recipient|mailbox)",
            r"not listed in|rejected: (invalid|unknown) user|not recogni[sz]ed",
            r"invalid (final delivery )?userid",
            r"(doesn't|does not) have an? .{0,40}account",
            r"resolver\.adr\.recipient",
            r"utilisateur inconnu|usuario|unbekannt|nessun utente|ディレクトリのリストにありません",
        ),
    ),
    (
        "expired",
        _rx(
            r"timed? ?out|time(d)? out|expired|too long in the queue|queue too long|"
            r"in the queue too long",
            r"retry (time|timeout)|giving up on|could not be delivered for .{0,10}days",
            r"delivery attempts will continue|has been delayed|failing for a long time",
            r"no answer from host|server did not respond|unable to deliver .{0,40}retries",
            r"not reachable",
            # DragonFly DMA: "Could not deliver for the last 432000 seconds. Giving up.";
            # IMail: "Delivery failed 20 attempts".
            r"could not deliver for the last|delivery failed \d+ attempts",
            r"not delivered within|(remote )?host is not responding",
        ),
    ),
    (
        "networkerror",
        _rx(
            r"loop|too many hops|no route to host|host (is )?unreachable",
            # "dns;" is the name type of an RFC 3464 Reporting-MTA/Remote-MTA field, not a
            # complaint about DNS.
            r"name server|\bdns\b(?!\s*;)|host name lookup|could not connect|"
            r"connection (failed|error)",
            r"did not accept our requests to connect|socket error|connection refused",
        ),
    ),
    (
        "contenterror",
        _rx(
            r"mime|8-bit data|header (error|are not accepted)|duplicate header|rfc ?5322",
            r"headers? too (large|long|big)|too many headers",
        ),
    ),
    (
        "systemerror",
        _rx(
            r"system (error|config)|configuration error|internal (server )?error",
            r"local (error|problem)|temporary (local )?(problem|failure)|service (currently )?"
            r"unavailable",
            r"can't create|write error|interrupted system call|i/o error|mail system full",
            r"transaction failed|pipe to \||no such file or directory|mailer error",
        ),
    ),
)
