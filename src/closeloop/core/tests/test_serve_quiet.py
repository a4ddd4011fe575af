"""`closeloop serve` keeps its terminal readable: the worker's line per task goes to a file under the data
directory, warnings still reach the terminal, and the banner says where mail and logs go."""

import logging

import pytest
from django.core.management import call_command

from closeloop.core.management.commands import serve, worker


@pytest.fixture
def task_loggers():
    """The task loggers as they were: the worker's set-up changes process-wide logging."""
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate,
                    logging.getLogger(name).level) for name in worker.TASK_LOGGERS}
    yield
    for name, (handlers, propagate, level) in saved.items():
        task_logger = logging.getLogger(name)
        task_logger.handlers[:] = handlers
        task_logger.propagate = propagate
        task_logger.setLevel(level)


def test_per_task_lines_go_to_the_file_and_warnings_to_the_terminal(tmp_path, task_loggers, caplog, capsys):
    log_file = tmp_path / "logs" / "worker.log"
    worker._task_log_to(str(log_file))
    task_logger = logging.getLogger("django_tasks_db")
    task_logger.setLevel(logging.INFO)  # what db_worker does at its default verbosity
    with caplog.at_level(logging.INFO):
        task_logger.info("Task id=1 state=SUCCESSFUL")
        task_logger.warning("Task id=2 failed")
    text = log_file.read_text(encoding="utf-8")
    assert "Task id=1 state=SUCCESSFUL" in text and "Task id=2 failed" in text
    # Nothing reaches the root logger (the terminal beside the web server) but the warning, on its own handler.
    assert caplog.records == []
    err = capsys.readouterr().err
    assert "Task id=2 failed" in err and "SUCCESSFUL" not in err


def test_the_worker_alone_still_logs_to_the_terminal(task_loggers, capsys):
    worker._task_log_to(None)
    task_logger = logging.getLogger("django.tasks")
    task_logger.setLevel(logging.INFO)
    task_logger.info("Task id=3 started")
    assert "Task id=3 started" in capsys.readouterr().err


def test_the_banner_says_where_mail_and_logs_go(settings, tmp_path):
    settings.DEV = True
    settings.DEV_MAIL_DIR = tmp_path / "mail"
    lines = serve.banner_lines(tmp_path / "logs" / "worker.log")
    assert any(str(tmp_path / "mail") in line for line in lines)
    assert any(str(tmp_path / "logs" / "worker.log") in line for line in lines)
    assert lines[-1].startswith("Press Ctrl-C")


def test_the_worker_takes_a_log_file(capsys):
    with pytest.raises(SystemExit):
        call_command("worker", "--help")
    assert "--log-file" in capsys.readouterr().out
