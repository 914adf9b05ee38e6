"""Credentials in AWS Secrets Manager: one secret per data source, named and tagged by tenant and id."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from datasource_registry.adapters.backoff import with_backoff
from datasource_registry.domain.ports import SecretBeingDeleted, SecretRef, StaleVersion

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def _new_token() -> str:
    # Secrets Manager: 32 to 64 characters; it becomes the VersionId of the version the call creates.
    return str(uuid.uuid4())


class SecretsManagerSecretStore:
    """Every write is safe to send again: the same ClientRequestToken makes CreateSecret and PutSecretValue
    idempotent (a version with that id and the same value is not written twice), and the other writes check
    what is already so before calling a repeat a failure."""

    def __init__(self, client: SecretsManagerClient, prefix: str, recovery_window_days: int = 7) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._recovery_window_days = recovery_window_days

    def create(self, tenant_id: str, data_source_id: str, values: dict[str, str]) -> SecretRef:
        name = f"{self._prefix}/{tenant_id}/{data_source_id}"
        token, text = _new_token(), json.dumps(values)

        def attempt() -> SecretRef:
            try:
                response = self._client.create_secret(
                    Name=name,
                    SecretString=text,
                    ClientRequestToken=token,
                    Description="Credentials of a data source in the data-source registry.",
                    Tags=[
                        {"Key": "tenant-id", "Value": tenant_id},
                        {"Key": "data-source-id", "Value": data_source_id},
                    ],
                )
            except ClientError as error:
                if _code(error) != "ResourceExistsException":
                    raise
                if not self._holds(name, token, text):
                    raise StaleVersion(data_source_id) from None  # a concurrent write created it: read again
                response = self._client.describe_secret(SecretId=name)  # type: ignore[assignment]
            return SecretRef(arn=response["ARN"], version=token)

        return with_backoff(attempt, what="Secrets Manager")

    def _holds(self, secret_id: str, version: str, text: str) -> bool:
        """Whether `version` of the secret exists with exactly `text` (then a repeat of our write found it)."""
        try:
            found = self._client.get_secret_value(SecretId=secret_id, VersionId=version)
        except ClientError:
            return False
        return found.get("SecretString") == text

    def add_version(self, arn: str, values: dict[str, str]) -> SecretRef:
        token, text = _new_token(), json.dumps(values)

        def attempt() -> SecretRef:
            try:
                self._client.put_secret_value(SecretId=arn, SecretString=text, ClientRequestToken=token)
            except ClientError as error:
                if _code(error) == "InvalidRequestException":
                    # Marked for deletion (maybe restored since): a delete of the source is under way or just lost;
                    # its outcome decides, so the caller reads again.
                    raise SecretBeingDeleted(arn) from None
                raise
            return SecretRef(arn=arn, version=token)

        return with_backoff(attempt, what="Secrets Manager")

    def revert_version(self, arn: str, restore: str, discard: str) -> None:
        """Move AWSCURRENT back from `discard` to `restore`; if another writer already moved it on, leave it.

        Records name the version they use, so AWSCURRENT only tells an operator which one is newest.
        """

        def attempt() -> None:
            if self._current_version(arn) != discard:
                return
            try:
                self._client.update_secret_version_stage(
                    SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=restore, RemoveFromVersionId=discard
                )
            except ClientError as error:
                if _code(error) != "InvalidParameterException" or self._current_version(arn) == discard:
                    raise

        with_backoff(attempt, what="Secrets Manager")

    def _current_version(self, arn: str) -> str | None:
        stages = self._client.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
        return next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)

    def _scheduled_for_deletion(self, arn: str) -> bool:
        try:
            return "DeletedDate" in self._client.describe_secret(SecretId=arn)
        except ClientError:
            return False

    def read(self, ref: SecretRef) -> dict[str, str]:
        try:
            response = self._client.get_secret_value(SecretId=ref.arn, VersionId=ref.version)
        except ClientError as error:
            if _code(error) == "InvalidRequestException":  # marked for deletion, as add_version
                raise SecretBeingDeleted(ref.arn) from None
            raise
        values: dict[str, str] = json.loads(response["SecretString"])
        return values

    def held(self, ref: SecretRef) -> dict[str, str] | None:
        try:
            response = self._client.get_secret_value(SecretId=ref.arn, VersionId=ref.version)
        except ClientError as error:
            # Gone (a version Secrets Manager dropped, a deleted secret) or being deleted: not restorable.
            if _code(error) in {"ResourceNotFoundException", "InvalidRequestException"}:
                return None
            raise
        values: dict[str, str] = json.loads(response["SecretString"])
        return values

    def read_named(self, tenant_id: str, name: str) -> dict[str, str]:
        # The role may read every secret under the registry's prefix: a tenant may name only its own there.
        secret_name = name.split(":secret:", 1)[1] if ":secret:" in name else name
        if secret_name.startswith("datasource-registry/") and not secret_name.startswith(
            f"{self._prefix}/{tenant_id}/"
        ):
            raise PermissionError("secretManagerKey names a secret of the registry that is not this tenant's")
        try:
            response = self._client.get_secret_value(SecretId=name)
        except self._client.exceptions.ResourceNotFoundException:
            raise LookupError("secretManagerKey names no secret") from None
        except ClientError as error:
            if error.response["Error"]["Code"] in {"AccessDeniedException", "AccessDenied"}:
                raise PermissionError("the registry may not read the secret secretManagerKey names") from None
            raise
        values = json.loads(response.get("SecretString") or "{}")
        if not isinstance(values, dict):
            raise PermissionError("secretManagerKey must name a secret holding a JSON object")
        return {str(k): str(v) for k, v in values.items()}

    def schedule_deletion(self, arn: str) -> None:
        def attempt() -> None:
            for _ in range(3):
                try:
                    self._client.delete_secret(SecretId=arn, RecoveryWindowInDays=self._recovery_window_days)
                    return
                except ClientError as error:
                    if _code(error) != "InvalidRequestException":
                        raise
                # Already scheduled (by a repeat of this very call, or by a concurrent delete): what we asked for;
                # unless a losing delete restored it in between, then schedule it again.
                if self._scheduled_for_deletion(arn):
                    return
            raise SecretBeingDeleted(arn)  # it keeps flipping: the deletes race; the caller reads again

        with_backoff(attempt, what="Secrets Manager")

    def restore(self, arn: str) -> None:
        with_backoff(lambda: self._client.restore_secret(SecretId=arn), what="Secrets Manager")

    def delete_now(self, arn: str) -> None:
        def attempt() -> None:
            try:
                self._client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":  # a repeat finds it gone
                    raise

        with_backoff(attempt, what="Secrets Manager")
