"""The store is tied to one secret: the wrong one is a clear error; rotation moves everything over."""

import pytest
from pydantic import SecretStr

from mailyard.config import Settings
from mailyard.runtime import Runtime
from mailyard.security.secretbox import SecretBox
from mailyard.security.store_secret import SecretMismatch, rotate


async def test_wrong_secret_for_existing_data_is_a_clear_error(settings: Settings) -> None:
    runtime = await Runtime.open(settings)
    await runtime.close()
    wrong = settings.model_copy(update={"secret": SecretStr("not-the-secret-used-before")})
    with pytest.raises(SecretMismatch, match="different secret"):
        await Runtime.open(wrong)


async def test_lost_secret_file_is_a_clear_error_and_leaves_no_new_file(settings: Settings) -> None:
    from_file = settings.model_copy(update={"secret": None})
    runtime = await Runtime.open(from_file)
    await runtime.close()
    from_file.secret_file.unlink()
    with pytest.raises(SecretMismatch, match="secret file"):
        await Runtime.open(from_file)
    assert not from_file.secret_file.exists()


async def test_rotation_moves_the_store_to_the_new_secret(settings: Settings) -> None:
    runtime = await Runtime.open(settings)
    new_secret = "the-new-secret-of-the-store"
    await rotate(runtime.db, runtime.box, SecretBox(new_secret))
    await runtime.close()
    with pytest.raises(SecretMismatch):
        await Runtime.open(settings)
    reopened = await Runtime.open(settings.model_copy(update={"secret": SecretStr(new_secret)}))
    await reopened.close()
