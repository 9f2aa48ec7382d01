<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 enableorderby="0" forceraster="0" referencescale="-1" symbollevels="0" type="singleSymbol">
  <symbols>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="fill">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="border_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="color" type="QString" value="0,0,255,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="74,110,150,150"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.2"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="no"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="0,0,255,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="74,110,150,150"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.2"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="style" v="no"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
  </symbols>
  <rotation></rotation>
  <sizescale></sizescale>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="level"></field>
  <field configurationFlags="None" name="rank"></field>
  <field configurationFlags="None" name="probability"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="level" index="0" name=""></alias>
  <alias field="rank" index="1" name=""></alias>
  <alias field="probability" index="2" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="level"></default>
  <default applyOnUpdate="0" expression="" field="rank"></default>
  <default applyOnUpdate="0" expression="" field="probability"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="level" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="rank" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="probability" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="level"></constraint>
  <constraint desc="" exp="" field="rank"></constraint>
  <constraint desc="" exp="" field="probability"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip></mapTip>
 <layerGeometryType>2</layerGeometryType>
</qgis>
