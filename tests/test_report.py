"""What the package says while it works goes through one logger, which the command
line shows on standard output."""
import logging

from diehl_cook import report


def test_the_command_line_shows_the_messages_once_on_the_standard_output_of_the_moment(capsys):
    report.show_messages()
    report.show_messages()          # a second call adds no second handler
    try:
        report.say("resuming runs/n100 after 3 of 9 images")
        report.note("note: parameters.py has changed")
        assert capsys.readouterr().out == ("resuming runs/n100 after 3 of 9 images\n"
                                           "note: parameters.py has changed\n")
    finally:
        for handler in list(report.LOGGER.handlers):
            report.LOGGER.removeHandler(handler)
        report.LOGGER.setLevel(logging.NOTSET)


def test_a_library_user_is_still_told_the_notes(caplog):
    """Without the command line's handler, notes are warnings (shown by Python even when
    logging was never configured), the rest information."""
    with caplog.at_level(logging.INFO, logger="diehl_cook"):
        report.say("continuing")
        report.note("note: changed")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "continuing"), ("WARNING", "note: changed")]
