namespace Repro.Core.Engine;

/// <summary>What one CPUID leaf/sub-leaf returned; kept as plain values so decoding can be fed recorded registers.</summary>
public readonly record struct CpuIdRegisters(uint Eax, uint Ebx, uint Ecx, uint Edx);
