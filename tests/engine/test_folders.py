"""Folder facts: special use from INBOX, SPECIAL-USE flags, well-known names and the account's *MailPath
settings; selectability, subscription, and the parent/name split on the delimiter."""

from __future__ import annotations

from typing import Any

import pytest

from mailyard.engine.folders import FolderInfo, describe
from mailyard.engine.imap_text import ListedFolder


def folder(path: str, *flags: str, delimiter: str | None = "/") -> ListedFolder:
    return ListedFolder(path, delimiter, frozenset(flags))


def by_path(infos: list[FolderInfo]) -> dict[str, FolderInfo]:
    return {info.path: info for info in infos}


def special_uses(folders: list[ListedFolder], settings: dict[str, Any] | None = None) -> dict[str, str | None]:
    return {info.path: info.special_use for info in describe(folders, settings)}


@pytest.mark.parametrize("path", ["INBOX", "Inbox", "inbox"])
def test_inbox_is_the_inbox_whatever_its_case(path: str) -> None:
    [info] = describe([folder(path)], None)
    assert (info.special_use, info.special_use_source) == ("\\Inbox", "name")


def test_special_use_flag_is_detected_as_an_extension() -> None:
    [info] = describe([folder("Gesendet", "\\HasNoChildren", "\\Sent")], None)
    assert (info.special_use, info.special_use_source) == ("\\Sent", "extension")


def test_special_use_flag_wins_over_the_folder_name() -> None:
    [info] = describe([folder("Trash", "\\Archive")], None)
    assert (info.special_use, info.special_use_source) == ("\\Archive", "extension")


def test_special_use_flags_are_matched_case_insensitively() -> None:
    assert special_uses([folder("Papierkorb", "\\trash")]) == {"Papierkorb": "\\Trash"}


@pytest.mark.parametrize(("path", "delimiter", "use"), [
    ("Sent Items", "/", "\\Sent"),
    ("Sent", "/", "\\Sent"),
    ("[Gmail]/Sent Mail", "/", "\\Sent"),
    ("INBOX.Sent Messages", ".", "\\Sent"),
    ("Drafts", "/", "\\Drafts"),
    ("Deleted Items", "/", "\\Trash"),
    ("Spam", "/", "\\Junk"),
    ("Junk E-mail", "/", "\\Junk"),
    ("[Gmail]/All Mail", "/", "\\All"),
    ("Archive", "/", "\\Archive"),
])
def test_well_known_names_are_detected(path: str, delimiter: str, use: str) -> None:
    [info] = describe([folder(path, "\\HasNoChildren", delimiter=delimiter)], None)
    assert (info.special_use, info.special_use_source) == (use, "name")


@pytest.mark.parametrize("path", ["Projects", "Sent-ish", "Receipts/2024"])
def test_ordinary_folders_have_no_special_use(path: str) -> None:
    [info] = describe([folder(path, "\\HasNoChildren")], None)
    assert (info.special_use, info.special_use_source) == (None, None)


def test_sent_mail_path_setting_claims_sent_and_takes_it_from_the_detected_folder() -> None:
    folders = [folder("INBOX"), folder("Sent", "\\Sent"), folder("Sent Items"), folder("Outbox Copies")]
    infos = by_path(describe(folders, {"sentMailPath": "Outbox Copies"}))
    assert (infos["Outbox Copies"].special_use, infos["Outbox Copies"].special_use_source) == ("\\Sent", "user")
    assert (infos["Sent"].special_use, infos["Sent"].special_use_source) == (None, None)
    assert infos["Sent Items"].special_use is None
    assert infos["INBOX"].special_use == "\\Inbox"


def test_path_setting_overrides_a_different_flag_on_its_own_folder() -> None:
    infos = by_path(describe([folder("Bulk", "\\Archive")], {"junkMailPath": "Bulk"}))
    assert (infos["Bulk"].special_use, infos["Bulk"].special_use_source) == ("\\Junk", "user")


def test_path_setting_leaves_other_roles_alone() -> None:
    folders = [folder("Sent"), folder("Trash"), folder("Drafts", "\\Drafts"), folder("My Sent")]
    assert special_uses(folders, {"sentMailPath": "My Sent"}) == {
        "Sent": None, "Trash": "\\Trash", "Drafts": "\\Drafts", "My Sent": "\\Sent"}


def test_several_path_settings_apply_together() -> None:
    folders = [folder("Sent"), folder("Trash"), folder("A"), folder("B")]
    settings = {"sentMailPath": "A", "trashMailPath": "B", "draftsMailPath": None}
    assert special_uses(folders, settings) == {"Sent": None, "Trash": None, "A": "\\Sent", "B": "\\Trash"}


def test_path_setting_naming_a_missing_folder_still_takes_the_role_away() -> None:
    assert special_uses([folder("Sent", "\\Sent")], {"sentMailPath": "Gone"}) == {"Sent": None}


@pytest.mark.parametrize("flag", ["\\Noselect", "\\NoSelect", "\\NonExistent"])
def test_noselect_marks_the_folder_not_selectable(flag: str) -> None:
    [info] = describe([folder("[Gmail]", flag, "\\HasChildren")], None)
    assert info.no_select is True


def test_ordinary_folder_is_selectable() -> None:
    [info] = describe([folder("Work", "\\HasChildren")], None)
    assert info.no_select is False


def test_parent_path_and_name_come_from_the_delimiter() -> None:
    infos = by_path(describe([
        folder("Work/Projects/2024"), folder("Work"), folder("INBOX.Receipts", delimiter="."),
        folder("Flat/Name", delimiter=None),
    ], None))
    assert (infos["Work/Projects/2024"].name, infos["Work/Projects/2024"].parent_path) == ("2024", "Work/Projects")
    assert (infos["Work"].name, infos["Work"].parent_path) == ("Work", None)
    assert (infos["INBOX.Receipts"].name, infos["INBOX.Receipts"].parent_path) == ("Receipts", "INBOX")
    assert (infos["Flat/Name"].name, infos["Flat/Name"].parent_path, infos["Flat/Name"].delimiter) == (
        "Flat/Name", None, None)


def test_subscription_comes_from_the_given_set() -> None:
    infos = by_path(describe([folder("INBOX"), folder("Work")], None, subscribed={"INBOX"}))
    assert infos["INBOX"].subscribed is True
    assert infos["Work"].subscribed is False
    assert not any(info.subscribed for info in describe([folder("INBOX")], None))


def test_folders_keep_their_listing_order() -> None:
    paths = ["INBOX", "Zeta", "Alpha", "Sent"]
    assert [info.path for info in describe([folder(p) for p in paths], {})] == paths
