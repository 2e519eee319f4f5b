#!/usr/bin/env python3
"""Generate the endpoint table the program resolves AWS hosts with.

Asks botocore's own endpoint-ruleset evaluator (botocore.endpoint_provider.EndpointProvider,
over data/partitions.json and each service's endpoint-rule-set-1.json) for every partition,
every region botocore lists plus one made-up region matching the partition's regionRegex,
every FIPS x dual-stack combination (first through the endpoints.json resolver botocore's client
creation consults, which refuses some variants outright), and for STS the legacy global endpoint (botocore passes
UseGlobalEndpoint = sts_regional_endpoints == "legacy" and the region in
botocore.args.LEGACY_GLOBAL_STS_REGIONS). The made-up region's answer becomes the partition's
template (the region replaced by {region}); a listed region whose answer differs becomes an
exception. So the Swift side has no partition rules of its own: it picks the partition the way
the ruleset's aws.partition does (listed regions, then regionRegex in file order, else the
first partition) and fills in the template. Rerun when botocore changes and review the diff:

    .build-venv/bin/python scripts/generate-endpoints.py && git diff Sources/AWSCore/HTTP
"""
import os
import re

import botocore
import botocore.loaders
from botocore.args import LEGACY_GLOBAL_STS_REGIONS
from botocore.endpoint_provider import EndpointProvider
from botocore.regions import EndpointResolver

# client name -> (environment suffix, services-section key). The services the program calls.
SERVICES = ["ec2", "sts", "organizations", "sso", "sso-oidc"]
OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "AWSCore", "HTTP", "Endpoints+Generated.swift")
REGION_SHAPE = re.compile(r"^[a-z]+(-[a-z]+)+-[0-9]+$")


def synthetic_region(partition):
    """A region name botocore does not list but the partition's regex matches."""
    for listed in sorted(partition["regions"]):
        parts = listed.split("-")
        if len(parts) < 3:
            continue
        candidate = "-".join(parts[:-2] + ["zzq", "9"])
        if re.match(partition["regionRegex"], candidate) and candidate not in partition["regions"]:
            return candidate
    raise SystemExit(f"no synthetic region for {partition['id']}")


def legacy_endpoint(resolver, prefix, region, fips, dualstack):
    """botocore's client creation first asks the endpoints.json resolver (with the endpoint
    prefix), which refuses some variants outright (EndpointVariantError), even when an
    endpoint URL is configured. Else its answer (None when no partition matches)."""
    try:
        found = resolver.construct_endpoint(prefix, region, use_dualstack_endpoint=dualstack, use_fips_endpoint=fips)
        if not found:
            found = resolver.construct_endpoint(prefix, region, partition_name="aws", use_dualstack_endpoint=dualstack,
                                                use_fips_endpoint=fips)
    except Exception as error:
        return ("refused", str(error).strip().replace("\\", "\\\\").replace('"', '\\"'), "")
    return found


def legacy_signing_region(found, region):
    """The client's signing region before the ruleset answers (ClientEndpointBridge's
    _pick_region_values): the credentialScope region, else the endpoint name."""
    if not found:
        return region
    return found.get("credentialScope", {}).get("region") or found.get("endpointName") or region


def resolve(provider, parameters, service, region, fips, dualstack, legacy, fallback_signing):
    kwargs = {"Region": region, "UseFIPS": fips, "UseDualStack": dualstack}
    if "UseGlobalEndpoint" in parameters:
        kwargs["UseGlobalEndpoint"] = legacy and region in LEGACY_GLOBAL_STS_REGIONS
    try:
        endpoint = provider.resolve_endpoint(**kwargs)
    except Exception as error:  # botocore's EndpointResolutionError: the configuration is refused
        return ("error", str(error).replace("\\", "\\\\").replace('"', '\\"'), "")
    schemes = endpoint.properties.get("authSchemes") or [{}]
    return ("url", endpoint.url, schemes[0].get("signingRegion") or fallback_signing)


def templated(result, region):
    kind, text, signing = result
    if kind != "url":
        return result
    return (kind, text.replace(region, "{region}"), signing.replace(region, "{region}") if signing == region else signing)


def filled(template, region):
    kind, text, signing = template
    if kind != "url":
        return template
    return (kind, text.replace("{region}", region), signing.replace("{region}", region))


def swift_entry(result):
    kind, text, signing = result
    if kind == "error":
        return f'.failure("{text}")'
    if kind == "refused":
        return f'.refused("{text}")'
    return f'.endpoint("{text}", signingRegion: "{signing}")'


def main():
    loader = botocore.loaders.create_loader()
    partitions = loader.load_data("partitions")["partitions"]
    resolver = EndpointResolver(loader.load_data("endpoints"), uses_builtin_data=True)
    lines = []
    for service in SERVICES:
        ruleset = loader.load_service_model(service, "endpoint-rule-set-1")
        metadata = loader.load_service_model(service, "service-2")["metadata"]
        signing_name = metadata.get("signingName") or metadata["endpointPrefix"]
        prefix = metadata["endpointPrefix"]
        provider = EndpointProvider(ruleset, {"partitions": partitions, "version": "1.1"})
        parameters = ruleset["parameters"]
        legacies = [False, True] if "UseGlobalEndpoint" in parameters else [False]
        lines.append(f'        "{service}": Service(signingName: "{signing_name}", partitions: [')
        for partition in partitions:
            fake = synthetic_region(partition)
            lines.append(f'            "{partition["id"]}": [')
            for fips in (False, True):
                for dualstack in (False, True):
                    for legacy in legacies:
                        key = f"{int(fips)}{int(dualstack)}{int(legacy)}"
                        def answer(region):
                            found = legacy_endpoint(resolver, prefix, region, fips, dualstack)
                            if isinstance(found, tuple):
                                return found
                            return resolve(provider, parameters, service, region, fips, dualstack, legacy,
                                           legacy_signing_region(found, region))
                        template = templated(answer(fake), fake)
                        exceptions = []
                        for region in sorted(partition["regions"]):
                            if not REGION_SHAPE.match(region):
                                continue  # aws-global and the like: not a region the program accepts
                            actual = answer(region)
                            if filled(template, region) != actual:
                                exceptions.append(f'"{region}": {swift_entry(actual)}')
                        extra = f", exceptions: [{', '.join(exceptions)}]" if exceptions else ""
                        lines.append(f'                "{key}": Variant({swift_entry(template)}{extra}),')
            lines.append("            ],")
        lines.append("        ]),")
    regions = []
    for partition in partitions:
        listed = ", ".join(f'"{r}"' for r in sorted(partition["regions"]))
        regions.append(f'        Partition(id: "{partition["id"]}", regionRegex: #"{partition["regionRegex"]}"#, regions: [{listed}]),')
    with open(OUT, "w", encoding="utf-8") as out:
        out.write(f"""// Generated by scripts/generate-endpoints.py from botocore {botocore.__version__}. Do not edit.
// swiftlint:disable all

extension EndpointTable {{
    /// botocore's partitions.json, in file order (the order aws.partition tries the regexes).
    static let partitions: [Partition] = [
{chr(10).join(regions)}
    ]

    /// Per service, per partition, per variant key (FIPS, dual-stack, STS legacy global as
    /// 0/1 digits): the template for any region of the partition, and the listed regions
    /// whose answer differs.
    static let services: [String: Service] = [
{chr(10).join(lines)}
    ]
}}
""")


if __name__ == "__main__":
    main()
