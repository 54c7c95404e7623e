"""Session 6: the Lambda function that deploys the approved model (here: it records the request).

The event is what the pipeline's Lambda step builds; the answer carries the endpoint's name.
"""


def lambda_handler(event, context):
    model = event["model_name"]
    endpoint = event["endpoint_name"]
    print(f"deploying {model} to {endpoint}")
    return {"statusCode": 200, "endpoint": endpoint, "model": model}
