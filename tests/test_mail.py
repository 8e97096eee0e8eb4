"""Mail: recorded with the write that causes it, sent by the `mail` job to a real SMTP server on
127.0.0.1 once that write has committed, tried again while the server is away, and never the
reason a write fails."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from reputation import clock
from reputation.app import create_app
from reputation.config import ConfigurationError, TestConfig
from reputation.contractors.models import Contractor
from reputation.contractors.service import create_contractor
from reputation.extensions import db
from reputation.mail.service import send_mail
from reputation.mail.smtp import SmtpServer, parse_mail_url
from reputation.tenancy.scope import agency_scope
from tests.conftest import count_rows, repo_root, run_jobs, stop_process

SUBJECT = "Votre contestation a été examinée"
TEXT = (
    "Bonjour Zoé,\n\n"
    "L'agence a réexaminé l'incident que vous contestiez : il est annulé.\n"
    "Le détail : https://reputation.example/me/records/42?vue=d%C3%A9tails\n\n"
    "À bientôt.\n"
)


def welcome_contractor(app, tenant, to: str = "zoe@example.com", commit: bool = True) -> None:
    """A write that sends mail: a new contractor, and a message to them in the same transaction."""
    with app.app_context(), agency_scope(tenant.agency_id):
        create_contractor("Zoé Lefèvre", to)
        send_mail(to, SUBJECT, TEXT)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def mail_queue(redis_url: str) -> Queue:
    return Queue("mail", connection=Redis.from_url(redis_url))


def waiting_out_their_back_off(redis_url: str) -> list[Job]:
    """The mail jobs that failed and wait in RQ's scheduled registry to be tried again."""
    queue = mail_queue(redis_url)
    return [
        Job.fetch(job_id, connection=queue.connection)
        for job_id in queue.scheduled_job_registry.get_job_ids()
    ]


def back_off_passes(redis_url: str) -> None:
    """What RQ's scheduler does once a job's back-off is over: put it back on its queue."""
    registry = mail_queue(redis_url).scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.requeue(job_id)


def test_a_message_recorded_with_a_write_arrives_once_the_write_commits(
    app, tenants, redis_url, mailbox
):
    welcome_contractor(app, tenants[0])
    assert mailbox.messages == []  # the write itself sends nothing
    run_jobs(app, redis_url)

    (message,) = mailbox.wait_for(to="zoe@example.com")
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["To"] == "zoe@example.com"
    assert message["Subject"] == SUBJECT
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == TEXT
    assert message["Message-ID"].endswith("@localhost>")
    assert clock.now() - message["Date"].datetime < timedelta(minutes=1)
    assert len(mailbox.messages) == 1


def test_nothing_is_sent_when_the_write_rolls_back(app, tenants, redis_url, mailbox):
    welcome_contractor(app, tenants[0], commit=False)
    run_jobs(app, redis_url)
    assert mailbox.messages == []


def test_a_write_commits_while_the_mail_server_is_down_and_its_message_arrives_once_it_is_back(
    app, tenants, redis_url, mailbox
):
    with mailbox.down():
        welcome_contractor(app, tenants[0])
        run_jobs(app, redis_url)
    assert count_rows(app, Contractor) == 1
    (job,) = waiting_out_their_back_off(redis_url)
    assert job.retries_left == 7
    retry_at = mail_queue(redis_url).scheduled_job_registry.get_scheduled_time(job)
    assert timedelta(seconds=20) < retry_at - clock.now() < timedelta(seconds=40)
    assert mailbox.messages == []

    back_off_passes(redis_url)
    run_jobs(app, redis_url)
    (message,) = mailbox.wait_for(to="zoe@example.com")
    assert message["Subject"] == SUBJECT
    assert waiting_out_their_back_off(redis_url) == []


def test_a_recipient_the_server_refuses_for_now_is_tried_again(app, tenants, redis_url, mailbox):
    with mailbox.refusing("zoe@example.com", "450 4.2.1 Mailbox busy, try again later"):
        welcome_contractor(app, tenants[0])
        run_jobs(app, redis_url)
        assert len(waiting_out_their_back_off(redis_url)) == 1
    assert mailbox.messages == []

    back_off_passes(redis_url)
    run_jobs(app, redis_url)
    assert len(mailbox.wait_for(to="zoe@example.com")) == 1


def test_a_recipient_the_server_refuses_for_good_is_logged_and_not_tried_again(
    app, tenants, redis_url, mailbox, caplog
):
    with mailbox.refusing("gone@example.com", "550 5.1.1 No such user here"):
        welcome_contractor(app, tenants[0], to="gone@example.com")
        run_jobs(app, redis_url)
    assert mailbox.messages == []
    assert waiting_out_their_back_off(redis_url) == []
    assert mail_queue(redis_url).failed_job_registry.count == 0
    assert "refused for good" in caplog.text
    assert "No such user here" in caplog.text


def test_the_workers_send_the_mail_of_a_committed_write(app, tenants, service_env, mailbox):
    workers = subprocess.Popen(
        [sys.executable, "-m", "workers", "--workers", "1", "--webhook-workers", "0",
         "--poll", "0.05"],
        cwd=repo_root(), env=service_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        welcome_contractor(app, tenants[0])
        (message,) = mailbox.wait_for(to="zoe@example.com", timeout=30)
        assert message.get_content().replace("\r\n", "\n") == TEXT
    finally:
        stop_process(workers)
    assert workers.returncode == 0, workers.stderr.read().decode()[-2000:]


@pytest.mark.parametrize(
    "to",
    [
        "zoe@example.com\r\nBcc: everyone@example.com",
        "zoe",
        "zoe@example.com, sam@example.com",
    ],
)
def test_a_recipient_that_is_not_one_address_is_refused_in_the_write(app, tenants, to):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        with pytest.raises(ValueError):
            send_mail(to, SUBJECT, TEXT)
        db.session.rollback()


def test_mail_urls_name_the_server_its_tls_and_its_login():
    assert parse_mail_url("smtp://127.0.0.1:2525") == SmtpServer("127.0.0.1", 2525)
    assert parse_mail_url("smtps://mail.example.com") == SmtpServer(
        "mail.example.com", 465, implicit_tls=True
    )
    assert parse_mail_url(
        "smtp://me%40example.com:p%3Ass@mail.example.com:587?starttls=1"
    ) == SmtpServer(
        "mail.example.com", 587, starttls=True, username="me@example.com", password="p:ss"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtp://",
        "smtp://mail.example.com:99999",
        "smtp://mail.example.com/inbox",
        "smtp://mail.example.com?tls=1",
        "smtp://mail.example.com?starttls=yes",
        "smtps://mail.example.com?starttls=1",
        "smtp://me:secret@mail.example.com",  # a password in clear
    ],
)
def test_a_malformed_mail_url_is_refused_at_start(monkeypatch, url):
    monkeypatch.setenv("MAIL_URL", url)
    with pytest.raises(ConfigurationError, match="MAIL_URL is malformed") as refused:
        create_app(TestConfig)
    assert "secret" not in str(refused.value)


def test_a_mail_from_that_is_not_an_address_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("MAIL_FROM", "The reputation service")
    with pytest.raises(ConfigurationError, match="MAIL_FROM"):
        create_app(TestConfig)
