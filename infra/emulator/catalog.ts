/**
 * What the emulated Lambda account sells: instance types with the dated price snapshot
 * (SkyPilot's public Lambda catalog v8, 2026; see ../shared/lambda-cloud/PRICES.md), region
 * descriptions and images. Data only.
 */

export interface EmulatedInstanceType {
  readonly name: string;
  readonly description: string;
  readonly gpu_description: string;
  readonly price_cents_per_hour: number;
  readonly specs: { vcpus: number; memory_gib: number; storage_gib: number; gpus: number };
}

function gpuType(
  name: string,
  gpus: number,
  gpu: string,
  cents: number,
  perGpu: { vcpus: number; memoryGib: number; storageGib: number },
): EmulatedInstanceType {
  return {
    name,
    description: `${gpus}x ${gpu}`,
    gpu_description: gpu,
    price_cents_per_hour: cents,
    specs: {
      vcpus: perGpu.vcpus * gpus,
      memory_gib: perGpu.memoryGib * gpus,
      storage_gib: perGpu.storageGib * gpus,
      gpus,
    },
  };
}

const small = { vcpus: 14, memoryGib: 46, storageGib: 512 };
const large = { vcpus: 26, memoryGib: 225, storageGib: 2750 };

export const EMULATED_INSTANCE_TYPES: readonly EmulatedInstanceType[] = [
  {
    name: "cpu_4x_general",
    description: "4x vCPU general",
    gpu_description: "none",
    price_cents_per_hour: 20,
    specs: { vcpus: 4, memory_gib: 16, storage_gib: 64, gpus: 0 },
  },
  gpuType("gpu_1x_rtx6000", 1, "RTX 6000 (24 GB)", 69, small),
  gpuType("gpu_1x_a10", 1, "A10 (24 GB PCIe)", 129, { vcpus: 30, memoryGib: 200, storageGib: 1400 }),
  gpuType("gpu_1x_a6000", 1, "A6000 (48 GB)", 109, small),
  gpuType("gpu_2x_a6000", 2, "A6000 (48 GB)", 218, small),
  gpuType("gpu_4x_a6000", 4, "A6000 (48 GB)", 436, small),
  gpuType("gpu_1x_a100", 1, "A100 (40 GB PCIe)", 199, { vcpus: 30, memoryGib: 200, storageGib: 512 }),
  gpuType("gpu_1x_a100_sxm4", 1, "A100 (40 GB SXM4)", 199, { vcpus: 30, memoryGib: 200, storageGib: 512 }),
  gpuType("gpu_2x_a100", 2, "A100 (40 GB PCIe)", 398, { vcpus: 30, memoryGib: 200, storageGib: 512 }),
  gpuType("gpu_4x_a100", 4, "A100 (40 GB PCIe)", 796, { vcpus: 30, memoryGib: 200, storageGib: 512 }),
  gpuType("gpu_8x_a100", 8, "A100 (40 GB SXM4)", 1592, { vcpus: 15, memoryGib: 150, storageGib: 750 }),
  gpuType("gpu_8x_a100_80gb_sxm4", 8, "A100 (80 GB SXM4)", 2232, {
    vcpus: 30,
    memoryGib: 225,
    storageGib: 2500,
  }),
  gpuType("gpu_8x_v100", 8, "Tesla V100 (16 GB)", 632, { vcpus: 11, memoryGib: 56, storageGib: 700 }),
  gpuType("gpu_1x_h100_pcie", 1, "H100 (80 GB PCIe)", 329, large),
  gpuType("gpu_1x_h100_sxm5", 1, "H100 (80 GB SXM5)", 429, large),
  gpuType("gpu_2x_h100_sxm5", 2, "H100 (80 GB SXM5)", 838, large),
  gpuType("gpu_4x_h100_sxm5", 4, "H100 (80 GB SXM5)", 1636, large),
  gpuType("gpu_8x_h100_sxm5", 8, "H100 (80 GB SXM5)", 3192, large),
  gpuType("gpu_1x_gh200", 1, "GH200 (96 GB)", 229, { vcpus: 64, memoryGib: 432, storageGib: 4096 }),
  gpuType("gpu_1x_b200_sxm6", 1, "B200 (180 GB SXM6)", 699, large),
  gpuType("gpu_2x_b200_sxm6", 2, "B200 (180 GB SXM6)", 1378, large),
  gpuType("gpu_8x_b200_sxm6", 8, "B200 (180 GB SXM6)", 5352, large),
];

export const REGION_DESCRIPTIONS: Readonly<Record<string, string>> = {
  "europe-central-1": "Germany",
  "asia-south-1": "India",
  "australia-east-1": "Australia",
  "me-west-1": "Israel",
  "asia-northeast-1": "Tokyo, Japan",
  "asia-northeast-2": "Seoul, South Korea",
  "us-east-1": "Virginia, USA",
  "us-west-2": "Arizona, USA",
  "us-west-1": "California, USA",
  "us-south-1": "Texas, USA",
  "us-west-3": "Utah, USA",
  "us-midwest-1": "Illinois, USA",
  "us-east-2": "Washington DC, USA",
  "us-south-2": "North Texas, USA",
  "us-south-3": "Central Texas, USA",
  "us-east-3": "Virginia, USA",
  "us-midwest-2": "Ohio, USA",
};

/** Regions that hold stock by default, and how many of each type each holds. */
export const DEFAULT_STOCKED_REGIONS = ["us-west-1", "us-east-1", "us-south-1", "europe-central-1"] as const;
export const DEFAULT_CAPACITY_PER_TYPE_AND_REGION = 16;

export const EMULATED_IMAGE_FAMILIES = [
  { family: "lambda-stack-22-04", name: "Lambda Stack 22.04", version: "22.04.4", architecture: "x86_64" },
  { family: "lambda-stack-24-04", name: "Lambda Stack 24.04", version: "24.04.1", architecture: "x86_64" },
  { family: "ubuntu-24-04", name: "Ubuntu 24.04 LTS", version: "24.04", architecture: "x86_64" },
] as const;

export const DEFAULT_IMAGE_FAMILY = "lambda-stack-24-04";
