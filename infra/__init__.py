"""The AWS CDK app that deploys Rebill (``cd infra && npx aws-cdk deploy -c stage=prod``)."""
