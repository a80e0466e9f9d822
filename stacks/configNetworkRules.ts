/**
 * What the firewall opens: the allowed CIDRs, and the ports that face them. The design opens SSH
 * (its own rule) and the public API and frontend ports, nothing else, and only to the CIDRs the
 * stack allows; every other port in `publicPorts` is refused here, at preview.
 */
import {
  DATA_SERVICES,
  MONITORING_SERVICES,
  SERVICE_NAMES,
  type ServiceName,
} from "../components/serviceCatalog";
import { CONFIG_DEFAULTS, type RawConfig } from "./configSchema";
import { servicePort, type Intact } from "./configRules";

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** The Docker daemon's ports (plain and TLS): whoever reaches them runs containers as root. */
const DOCKER_DAEMON_PORTS: readonly number[] = [2375, 2376];

/** Whether `cidr` is a well-formed IPv4 CIDR (octets <= 255, prefix <= 32). */
export function isIpv4Cidr(cidr: string): boolean {
  const match = CIDR.exec(cidr);
  return match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(match[5]) <= 32;
}

export function networkRules(config: RawConfig, intact: Intact = () => true): string[] {
  const problems: string[] = [];
  for (const cidr of config.allowedCidrs) {
    if (!isIpv4Cidr(cidr)) {
      problems.push(
        `orchestra:allowedCidrs contains "${cidr}": not an IPv4 CIDR; write e.g. 203.0.113.0/24 (a single address is /32)`,
      );
    }
  }
  // What a port is depends on the port map and the SSH port: judged only when both are intact.
  if (intact("ports", "sshPort")) {
    for (const port of config.publicPorts ?? []) {
      const problem = publicPortProblem(config, port);
      if (problem !== undefined) problems.push(problem);
    }
  }
  return problems;
}

/** Why `port` may not face the allowed CIDRs, or undefined for the frontend and API ports. */
function publicPortProblem(config: RawConfig, port: number): string | undefined {
  const frontend = servicePort(config, "frontend");
  const api = servicePort(config, "api");
  if (port === frontend || port === api) return undefined;
  const head = `orchestra:publicPorts contains ${port}`;
  const sshPort = config.sshPort ?? CONFIG_DEFAULTS.sshPort;
  if (port === sshPort) {
    return `${head}, the SSH port (orchestra:sshPort): the firewall already opens SSH to orchestra:allowedCidrs in its own rule; remove ${port} from orchestra:publicPorts`;
  }
  const openToAll = config.allowedCidrs.includes("0.0.0.0/0");
  const toAll = " and orchestra:allowedCidrs includes 0.0.0.0/0, which would open it to the whole internet";
  const service = SERVICE_NAMES.find((name) => servicePort(config, name) === port);
  if (service !== undefined && (DATA_SERVICES as readonly ServiceName[]).includes(service)) {
    // Worded as before this rule grew: the engine tier and operators' scripts match on it.
    return (
      `${head}, the ${service} port: data stores listen on the node's private side only` +
      (openToAll ? toAll : "") +
      `; remove ${port} from orchestra:publicPorts (reach ${service} over SSH or the private network)`
    );
  }
  const only = `only the frontend (${frontend}) and API (${api}) ports may face orchestra:allowedCidrs: remove ${port} from orchestra:publicPorts`;
  if (service !== undefined && (MONITORING_SERVICES as readonly ServiceName[]).includes(service)) {
    return `${head}, the ${service} port: monitoring listens on the nodes' private side only (where it runs, the monitoring output prints the SSH tunnel that reaches it)${openToAll ? `,${toAll}` : ""}; ${only}`;
  }
  if (service !== undefined) {
    return `${head}, the ${service} port: MCP servers serve the API on the node, not the internet${openToAll ? `,${toAll}` : ""}; ${only}`;
  }
  if (DOCKER_DAEMON_PORTS.includes(port)) {
    return `${head}, the Docker daemon port: whoever reaches it controls every container on the node${openToAll ? `,${toAll}` : ""}; ${only} (Docker is reached over SSH)`;
  }
  return `${head}, which is neither the frontend nor the API port${openToAll ? toAll : ""}; ${only}`;
}
