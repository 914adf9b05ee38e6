"""Credentials in AWS Secrets Manager: one secret per data source, named and tagged by tenant and id."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from datasource_registry.domain.ports import SecretRef

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SecretsManagerSecretStore:
    def __init__(self, client: SecretsManagerClient, prefix: str, recovery_window_days: int = 7) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._recovery_window_days = recovery_window_days

    def create(self, tenant_id: str, data_source_id: str, values: dict[str, str]) -> SecretRef:
        response = self._client.create_secret(
            Name=f"{self._prefix}/{tenant_id}/{data_source_id}",
            SecretString=json.dumps(values),
            Description="Credentials of a data source in the data-source registry.",
            Tags=[
                {"Key": "tenant-id", "Value": tenant_id},
                {"Key": "data-source-id", "Value": data_source_id},
            ],
        )
        return SecretRef(arn=response["ARN"], version=response["VersionId"])

    def add_version(self, arn: str, values: dict[str, str]) -> SecretRef:
        response = self._client.put_secret_value(SecretId=arn, SecretString=json.dumps(values))
        return SecretRef(arn=response["ARN"], version=response["VersionId"])

    def revert_version(self, arn: str, restore: str, discard: str) -> None:
        self._client.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=restore, RemoveFromVersionId=discard
        )

    def read(self, ref: SecretRef) -> dict[str, str]:
        response = self._client.get_secret_value(SecretId=ref.arn, VersionId=ref.version)
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
        self._client.delete_secret(SecretId=arn, RecoveryWindowInDays=self._recovery_window_days)

    def restore(self, arn: str) -> None:
        self._client.restore_secret(SecretId=arn)

    def delete_now(self, arn: str) -> None:
        self._client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
