/**
 * The local stand-in image of every service, as scripts/standin-images/build.sh tags them (no
 * registry here). The services tier substitutes them through the stack config's `images` key.
 */
import type { ServiceName } from "../../components/serviceCatalog";

export const STANDIN_IMAGES: Readonly<Record<ServiceName, string>> = Object.freeze({
  postgres: "orchestra-standin/postgres:15",
  redis: "orchestra-standin/redis:7",
  weaviate: "orchestra-standin/weaviate:1.22.4",
  api: "orchestra-standin/api:test",
  frontend: "orchestra-standin/frontend:test",
  "mcp-memory": "orchestra-standin/mcp:test",
  "mcp-tools": "orchestra-standin/mcp:test",
  "mcp-code": "orchestra-standin/mcp:test",
  "mcp-git": "orchestra-standin/mcp:test",
  "mcp-infrastructure": "orchestra-standin/mcp:test",
  "mcp-unified": "orchestra-standin/mcp:test",
  prometheus: "orchestra-standin/prometheus:2.42",
  alertmanager: "orchestra-standin/alertmanager:0.25",
  "blackbox-exporter": "orchestra-standin/blackbox-exporter:0.23",
  "node-exporter": "orchestra-standin/node-exporter:1.5",
  cadvisor: "orchestra-standin/cadvisor:test",
  "dcgm-exporter": "orchestra-standin/dcgm-exporter:test",
});
